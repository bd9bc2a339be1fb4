/**
 * The Node (V8) flags the service process runs with. `npm start` passes the same ones
 * (test/build.test.ts checks that the two agree), and so do the process tests and the bench.
 *
 * `--no-allocation-site-pretenuring`: V8 learns, per allocation site, whether the objects it makes
 * live long, and then allocates them straight in the old generation. Sagas live for tens of
 * milliseconds and share allocation sites with requests whose objects die at once, which was seen to
 * fill the old generation with garbage (2026-11-26, a probe not kept). Measured A/B on 2026-12-02
 * (bench/experiments/node-flag.ts, bench/NOTES.md under "read"), it made no difference to reads and
 * an 11% difference to the engine's CPU per saga that the noise does not let us call real. It is kept
 * because it costs nothing measurable; take it out when a run shows it does.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--enable-source-maps',
  '--no-allocation-site-pretenuring',
];
