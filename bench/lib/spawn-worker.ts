import { fork } from 'node:child_process';
import { projectRoot } from '../../src/project-root.js';
import { benchNodeFlags, benchScript, loaderFlags } from './scripts.js';

export interface WorkerOptions {
  /** Flags after the service's (e.g. `--expose-gc`). */
  readonly nodeFlags?: readonly string[];
  /** The flags of the process under test: the service's and BENCH_NODE_FLAGS unless given (an A/B of a flag). */
  readonly serviceFlags?: readonly string[];
  readonly onPhase?: (phase: 'start' | 'end') => void;
}

/** Runs bench/worker with `args` in a fresh process and returns what it reports. */
export function runWorker<T>(args: object, options: WorkerOptions = {}): Promise<T> {
  const onPhase = options.onPhase ?? (() => {});
  return new Promise((resolve, reject) => {
    const child = fork(benchScript('worker'), [JSON.stringify(args)], {
      cwd: projectRoot,
      // The in-process scenarios' service is this worker: BENCH_NODE_FLAGS (`--cpu-prof`, say) reach it too.
      execArgv: [...loaderFlags, ...(options.serviceFlags ?? benchNodeFlags()), ...(options.nodeFlags ?? [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let settled = false;
    child.on('message', (message: { ok?: boolean; result?: T; error?: string; phase?: 'start' | 'end' }) => {
      if (message.phase) return onPhase(message.phase);
      settled = true;
      if (message.ok) resolve(message.result as T);
      else reject(new Error(`bench worker failed: ${message.error}`));
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`bench worker exited with ${code} without a result`));
    });
  });
}
