// What the memory scenario's `--inspect` costs the service it measures: the monolith started with and
// without it (in the order each round draws), its RSS read from /proc once it is ready and again after
// `--users` registrations, no garbage collection asked for (without the inspector there is no way to ask).
// `npm run -s build && node dist/bench/experiments/inspector-rss.js [--rounds 3] [--users 500] [--seed N]`;
// writes bench/results/experiment-inspector-rss-<time>.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { benchDatabase } from '../lib/bench-db.js';
import { describeMachine } from '../lib/machine.js';
import { orderDrawer, parseSeed } from '../lib/order.js';
import { rssMb } from '../lib/proc-stats.js';
import { benchNodeFlags, resultsDir } from '../lib/scripts.js';
import { freePort, registerUsers, startMonolith } from '../lib/services.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, users: { type: 'string' }, seed: { type: 'string' } },
});
const rounds = Number(values.rounds ?? 3);
const users = Number(values.users ?? 500);
const seed = parseSeed(values.seed);
if (typeof seed === 'string') throw new Error(seed);
const draw = orderDrawer(seed);
const machine = await describeMachine();
console.log(
  `inspector-rss: ${rounds} rounds, ${users} registrations each, seed ${seed}; ${machine.cores} cores (${machine.cpuModel}), ` +
    `commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
);

const arms = ['plain', 'inspect'] as const;
const figures: Record<(typeof arms)[number], { ready: number[]; loaded: number[] }> = {
  plain: { ready: [], loaded: [] },
  inspect: { ready: [], loaded: [] },
};
for (let round = 0; round < rounds; round++) {
  for (const arm of draw.shuffled(arms)) {
    const db = await benchDatabase(`bench_inspector_rss_${arm}`, ['user', 'score', 'barrier', 'saga']);
    const nodeFlags =
      arm === 'inspect' ? [...benchNodeFlags(), `--inspect=127.0.0.1:${await freePort()}`] : benchNodeFlags();
    const { service, url } = await startMonolith(db.url, { poolSize: 16, nodeFlags });
    await sleep(2_000);
    const ready = rssMb(service.pid).current;
    await registerUsers(url, users);
    await sleep(1_000);
    const loaded = rssMb(service.pid).current;
    await service.stop();
    await db.drop();
    figures[arm].ready.push(ready);
    figures[arm].loaded.push(loaded);
    console.log(
      `  round ${round + 1} ${arm}: RSS ready ${ready.toFixed(1)} MB, after ${users} registrations ${loaded.toFixed(1)} MB`,
    );
  }
}
const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
for (const when of ['ready', 'loaded'] as const) {
  const difference = mean(figures.inspect[when]) - mean(figures.plain[when]);
  console.log(
    `${when}: plain ${mean(figures.plain[when]).toFixed(1)} MB, with --inspect ${mean(figures.inspect[when]).toFixed(1)} MB (${difference >= 0 ? '+' : ''}${difference.toFixed(1)} MB)`,
  );
}
const file = join(
  resultsDir,
  `experiment-inspector-rss-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
writeFileSync(
  file,
  `${JSON.stringify({ experiment: 'inspector-rss', options: { rounds, users, seed }, machine, figures }, null, 2)}\n`,
);
console.log(`written to ${file}`);
