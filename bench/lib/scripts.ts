import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.js';
import { projectRoot } from '../../src/project-root.js';

/**
 * Where the bench finds the programs it starts. `npm run bench` and `npm run soak` run compiled JavaScript
 * (dist/), as `npm start` runs the service; `npx tsx bench/run.ts` runs the sources. A child runs the
 * way its parent does, so one run never mixes the two.
 */
const compiled = import.meta.url.endsWith('.js');

/** Node flags a child needs to run a script of this kind: tsx's loader for TypeScript sources. */
export const loaderFlags: readonly string[] = compiled ? [] : ['--import', 'tsx'];

/** A bench script by its name without extension, e.g. `worker` or `lib/closed-loop`. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`../${name}${compiled ? '.js' : '.ts'}`, import.meta.url));
}

/** The service's entry point, as `npm start` runs it. */
export const serviceEntry: string = compiled
  ? join(projectRoot, 'dist/src/main.js')
  : join(projectRoot, 'src/main.ts');

/** bench/results in the project, whichever way the bench runs. */
export const resultsDir: string = join(projectRoot, 'bench/results');

/**
 * Flags for the processes under measurement (services, the bare yardstick, in-process workers): the
 * flags `npm start` gives the service, then BENCH_NODE_FLAGS (`--cpu-prof`, say).
 */
export function benchNodeFlags(): string[] {
  return [...SERVICE_NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
}
