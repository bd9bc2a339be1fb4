import { parseDuration } from './duration.js';

/**
 * The named places where a fault can be injected. `…afterCommit` fires after the branch's local
 * transaction committed and before its reply leaves (the coordinator then does not know it is done); a
 * compensation's own point fires only once the decision to compensate is durable (the coordinator waits
 * for that before any compensation call), so `exit` there dies between the decision and the compensation.
 */
export const faultPoints = [
  'user.saveUser',
  'user.saveUser.afterCommit',
  'user.saveUserCallback',
  'user.saveUserCallback.afterCommit',
  'score.saveUserScore',
  'score.saveUserScore.afterCommit',
  'score.saveUserScoreCallback',
  'score.saveUserScoreCallback.afterCommit',
  'saga.log.beforeWrite',
  'saga.log.afterWrite',
] as const;
export type FaultPoint = (typeof faultPoints)[number];

export type FaultEffect =
  /** Throws a TransientFailure: the saga retries the step. */
  | { readonly kind: 'transient' }
  /** Waits before going on (past a gRPC deadline, say). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Kills the process with SIGKILL: no graceful stop, no last write. */
  | { readonly kind: 'exit' };

/** What FAULTS turns on; see README (Fault injection). Test and bench runs only: refused in production. */
export interface FaultPlan {
  readonly rules: readonly FaultRule[];
  /** Seeds the injector's random numbers: the same seed and the same calls give the same faults. */
  readonly seed: number;
}

export interface FaultRule {
  readonly points: readonly FaultPoint[];
  readonly effect: FaultEffect;
  /** 0..1: the chance each hit fires. */
  readonly probability: number;
  /** Hits at these points to let pass before the rule may fire. */
  readonly after: number;
  /** At most this many firings per process (Infinity: no limit). */
  readonly times: number;
}

export const FAULTS_SYNTAX =
  'expects rules such as "user.saveUser=transient:30%;score.saveUserScore=delay:200ms;saga.log.afterWrite=exit:1%:after=50"' +
  ' (rule: point=effect[,effect]; effect: transient|delay:<duration>|exit, then options :<probability> :after=N :times=N; "*" in a point matches anything)';

function matchPoints(pattern: string): FaultPoint[] {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return faultPoints.filter((point) => regex.test(point));
}

function parseProbability(text: string): number | undefined {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const value = percent
    ? Number(percent[1]) / 100
    : /^(?:0|1|0?\.\d+|1\.0+)$/.test(text)
      ? Number(text)
      : NaN;
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : undefined;
}

function parseCount(text: string): number | undefined {
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function parseEffect(text: string, points: FaultPoint[]): FaultRule | string {
  const [kind = '', ...options] = text.split(':').map((part) => part.trim());
  let probability = 1;
  let after = 0;
  let times = Number.POSITIVE_INFINITY;
  let ms: number | undefined;
  for (const option of options) {
    const [key, value] = option.includes('=') ? option.split('=', 2) : [undefined, option];
    if (key === 'after' || key === 'times') {
      const count = parseCount(value ?? '');
      if (count === undefined) return `"${option}" expects a whole number`;
      if (key === 'after') after = count;
      else times = count;
      continue;
    }
    if (key !== undefined) return `unknown option "${key}" (expects after= or times=)`;
    const chance = parseProbability(option);
    if (chance !== undefined) {
      probability = chance;
      continue;
    }
    // A unit is required, so `delay:1` cannot be read both as 1 ms and as "always".
    const duration = kind === 'delay' && /[a-z]$/.test(option) ? parseDuration(option) : undefined;
    if (duration !== undefined && ms === undefined) {
      ms = duration;
      continue;
    }
    return `"${option}" in "${text}" is neither a probability (0.3 or 30%)${kind === 'delay' ? ' nor a duration (200ms, 2s)' : ''}`;
  }
  let effect: FaultEffect;
  if (kind === 'transient') effect = { kind };
  else if (kind === 'exit') effect = { kind };
  else if (kind === 'delay') {
    if (ms === undefined) return `"${text}" expects a duration (delay:200ms)`;
    effect = { kind, ms };
  } else return `unknown effect "${kind}" (expects transient, delay or exit)`;
  return { points, effect, probability, after, times };
}

/** Parses FAULTS; a string is the reason it was refused. Empty or blank: no rules. */
export function parseFaultSpec(spec: string): FaultRule[] | string {
  const rules: FaultRule[] = [];
  for (const text of spec.split(';').map((part) => part.trim())) {
    if (text === '') continue;
    const separator = text.indexOf('=');
    if (separator <= 0) return `rule "${text}" has no "point=effect"; ${FAULTS_SYNTAX}`;
    const pattern = text.slice(0, separator).trim();
    const points = matchPoints(pattern);
    if (points.length === 0) {
      return `"${pattern}" names no fault point (points: ${faultPoints.join(', ')})`;
    }
    for (const effectText of text.slice(separator + 1).split(',')) {
      const rule = parseEffect(effectText.trim(), points);
      if (typeof rule === 'string') return `${rule}; ${FAULTS_SYNTAX}`;
      rules.push(rule);
    }
  }
  return rules;
}
