import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPlan, FaultPoint } from '../config/fault-plan.js';
import { TransientFailure } from '../domain/errors.js';

export type { FaultPoint } from '../config/fault-plan.js';

export interface FaultInjector {
  /** False for the no-op injector: wrappers then hand back the service untouched (no cost when off). */
  readonly enabled: boolean;
  /** Called at a fault point: may wait, throw a TransientFailure, or end the process. */
  at(point: FaultPoint): Promise<void>;
}

export const noFaults: FaultInjector = { enabled: false, at: async () => {} };

/** mulberry32: a tiny seeded generator; enough for choosing faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** SIGKILL, as a crash: no exit handlers, no graceful stop, no buffered log flushed. */
function killSelf(point: FaultPoint): never {
  // Written synchronously: pino's buffered output dies with the process.
  writeSync(2, `${JSON.stringify({ level: 40, msg: 'fault injection: killing the process', point })}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not end the process');
}

export interface InjectorOptions {
  /** How `exit` ends the process (tests pass their own). */
  readonly exit?: (point: FaultPoint) => void;
}

export function createFaultInjector(
  plan: FaultPlan | undefined,
  options: InjectorOptions = {},
): FaultInjector {
  if (plan === undefined || plan.rules.length === 0) return noFaults;
  const random = seededRandom(plan.seed);
  const exit = options.exit ?? killSelf;
  const hits = new Map<FaultPoint, number>();
  const fired = plan.rules.map(() => 0);
  return {
    enabled: true,
    async at(point) {
      const hit = (hits.get(point) ?? 0) + 1;
      hits.set(point, hit);
      for (const [index, rule] of plan.rules.entries()) {
        if (!rule.points.includes(point) || hit <= rule.after || fired[index]! >= rule.times) continue;
        // Drawn for every eligible hit, fired or not, so one seed always gives one sequence.
        if (random() >= rule.probability) continue;
        fired[index]!++;
        switch (rule.effect.kind) {
          case 'delay':
            await sleep(rule.effect.ms);
            break;
          case 'transient':
            throw new TransientFailure('unavailable', `injected fault at ${point}`);
          case 'exit':
            exit(point);
            break;
        }
      }
    },
  };
}
