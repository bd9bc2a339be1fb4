import { setTimeout as sleep } from 'node:timers/promises';

/** One answer the service gave (or `network`: no answer, the process was down; `hang`: no answer in time). */
export interface Answer {
  readonly id: number;
  readonly status: number | 'network' | 'hang';
  readonly code?: string;
}

export interface LoadOptions {
  readonly ids: readonly number[];
  readonly concurrency: number;
  /** The service's base URL at this moment (it changes when a test restarts the process elsewhere). */
  readonly url: () => string;
  /** Score 10 is refused: one in five registrations of the chaos tests aborts on purpose. */
  readonly scoreOf?: (id: number) => number;
  /** A request answered later than this counts as a hang. */
  readonly requestTimeoutMs: number;
  readonly password?: (id: number) => string | undefined;
}

export interface Load {
  readonly answers: Answer[];
  /** Registrations that got a final answer (anything but `network` and 503 `unavailable`). */
  readonly settled: () => number;
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Registers every id, `concurrency` at a time, as a careful client does: with an Idempotency-Key, and
 * again with the same key after no answer (the process died) or a 503 `unavailable` (try again), so a
 * registration is never lost and never doubled. Every answer is kept for the test to judge.
 */
export function startRegistrations(options: LoadOptions): Load {
  const answers: Answer[] = [];
  let next = 0;
  let settled = 0;
  let stopped = false;
  const scoreOf = options.scoreOf ?? ((id: number) => (id % 5 === 0 ? 10 : id % 7));
  const register = async (id: number) => {
    const password = options.password?.(id);
    const body = JSON.stringify({
      id,
      name: `chaos ${id}`,
      gender: 'x',
      score: scoreOf(id),
      ...(password ? { password } : {}),
    });
    while (!stopped) {
      let answer: Answer;
      try {
        const response = await fetch(`${options.url()}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `chaos-${id}` },
          body,
          signal: AbortSignal.timeout(options.requestTimeoutMs),
        });
        const text = await response.text();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        answer = { id, status: response.status, ...(code ? { code } : {}) };
      } catch (error) {
        const name = (error as Error).name;
        answer = { id, status: name === 'TimeoutError' ? 'hang' : 'network' };
      }
      answers.push(answer);
      if (answer.status === 'network' || (answer.status === 503 && answer.code === 'unavailable')) {
        await sleep(100);
        continue;
      }
      settled++;
      return;
    }
  };
  const worker = async () => {
    while (!stopped && next < options.ids.length) await register(options.ids[next++] as number);
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => undefined);
  return {
    answers,
    settled: () => settled,
    done,
    stop: () => {
      stopped = true;
    },
  };
}

/** Waits until `condition` holds, checking every 50 ms; false if `timeoutMs` passed first. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Answers a client must never get: a 500, or no answer in time. */
export const badAnswers = (answers: readonly Answer[]) =>
  answers.filter(
    (answer) =>
      answer.status === 'hang' ||
      (typeof answer.status === 'number' && answer.status >= 500 && answer.status !== 503),
  );

/**
 * How the coordinator reaches its services: `riding`, the monolith's default (the services in-process on
 * the saga log's database, the log written inside their branch transactions), or `remote`, the same
 * process calling its own services over gRPC (the log in statements of its own, as with a split
 * deployment). Fresh ports each call.
 */
export async function serviceModeEnv(
  mode: 'riding' | 'remote',
  freePort: () => Promise<number>,
): Promise<Record<string, string>> {
  if (mode === 'riding') return {};
  const [userPort, scorePort] = [await freePort(), await freePort()];
  return {
    USER_GRPC_ADDR: `127.0.0.1:${userPort}`,
    SCORE_GRPC_ADDR: `127.0.0.1:${scorePort}`,
    USER_SERVICE: `grpc://127.0.0.1:${userPort}`,
    SCORE_SERVICE: `grpc://127.0.0.1:${scorePort}`,
  };
}
