/**
 * The Node (V8) flags the service process runs with. `npm start` passes the same ones
 * (test/build.test.ts checks that the two agree), and so do the process tests and the bench.
 *
 * `--no-allocation-site-pretenuring`: V8 learns, per allocation site, whether the objects it makes
 * live long, and then allocates them straight in the old generation. A saga's objects live for tens of
 * milliseconds, long enough to teach V8 that; the same sites then serve requests whose objects die at
 * once, and the old generation fills with garbage. In the read bench each young collection promoted
 * 1.9 MB and paused 6.8 ms with it, 0.2 MB and 3.0 ms without; the engine's CPU per saga fell by
 * 13–23% (bench/NOTES.md).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--enable-source-maps',
  '--no-allocation-site-pretenuring',
];
