import { benchDatabase } from './lib/bench-db.js';
import { runWorker } from './lib/spawn-worker.js';

const db = await benchDatabase('bench_memtmp', ['user', 'score', 'barrier', 'saga']);
console.log(
  await runWorker(
    {
      scenario: 'memory',
      databaseUrl: db.url,
      concurrency: 32,
      warmupMs: 0,
      durationMs: 0,
      poolSize: 16,
      memory: { total: 1000, sampleAt: 500, inFlight: Number(process.argv[2] ?? 10000) },
    },
    ['--expose-gc', ...(process.env.HEAP ? ['--heapsnapshot-signal=SIGUSR2'] : [])],
  ),
);
await db.drop();
process.exit(0);
