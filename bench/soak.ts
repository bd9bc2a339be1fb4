// `npm run soak -- --minutes 5`: holds 70% of the `http` throughput the latest `npm run bench` measured
// (or --rate) with a mix of registrations, reads and logins; prints per-minute figures and RSS.
import { fork } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDatabase, SERVER_URL } from './lib/bench-db.js';
import { rssMb } from './lib/proc-stats.js';
import { benchScript, loaderFlags, resultsDir } from './lib/scripts.js';
import { watchServers } from './lib/server-watch.js';
import {
  ADMIN_TOKEN,
  freePort,
  JWT_SECRET,
  ROOT,
  registerUsers,
  startService,
  waitForHttp,
} from './lib/services.js';
import type { MinuteFigures, SoakLoadArgs } from './soak-load.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string' },
    share: { type: 'string', default: '0.7' },
    warmup: { type: 'string', default: '30' },
  },
});
const minutes = Number(values.minutes);
if (!Number.isInteger(minutes) || minutes < 1) {
  console.error('--minutes expects a whole number of minutes, at least 1');
  process.exit(2);
}

const warmupSeconds = Number(values.warmup);
if (!Number.isInteger(warmupSeconds) || warmupSeconds < 0) {
  console.error('--warmup expects a whole number of seconds');
  process.exit(2);
}

function latestHttpRate(): { rate: number; from: string } | undefined {
  const dir = resultsDir;
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      // `npm run bench` results only (named by their time), not soaks' or experiments'.
      .filter((name) => /^\d{4}-.*\.json$/.test(name))
      .sort();
  } catch {
    return undefined;
  }
  for (const name of files.reverse()) {
    const run = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
      options?: { quick?: boolean };
      results: Array<{ scenario: string; completedPerSec?: number }>;
    };
    // A quick run's few seconds per scenario are no measure of what the service sustains.
    if (run.options?.quick) continue;
    const http = run.results.find((row) => row.scenario === 'http');
    if (http?.completedPerSec) return { rate: http.completedPerSec, from: name };
  }
  return undefined;
}

let ratePerSec: number;
let source: string;
if (values.rate !== undefined) {
  ratePerSec = Number(values.rate);
  source = '--rate';
} else {
  const latest = latestHttpRate();
  if (!latest) {
    console.error(
      'no bench result with an http figure in bench/results: run `npm run bench` first, or pass --rate',
    );
    process.exit(2);
  }
  ratePerSec = Number(values.share) * latest.rate;
  source = `${values.share} × http ${latest.rate.toFixed(0)}/s from bench/results/${latest.from}`;
}
if (!(ratePerSec > 0)) {
  console.error('--rate expects a positive number of requests per second');
  process.exit(2);
}

const db = await benchDatabase(`soak_${Date.now().toString(36)}`, ['user', 'score', 'barrier', 'saga']);
const port = await freePort();
const service = startService({
  DATABASE_URL: db.url,
  PORT: String(port),
  USER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
  SCORE_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
  // All the soak's logins and registrations come from one address; the per-id limits stay as shipped.
  LOGIN_IP_RATE_MAX: '1000000',
  REGISTER_RATE_MAX: '1000000',
  ADMIN_TOKEN,
});
const url = `http://127.0.0.1:${port}`;
await waitForHttp(`${url}/readyz`, service);

const password = 'soak password 123';
const loginUsers = 200;
const readUsers = 1000;
console.log(
  `soak: ${ratePerSec.toFixed(0)} requests/s (${source}) for ${minutes} min; preparing ${readUsers} users`,
);
await registerUsers(url, readUsers, { password, withPassword: loginUsers, batch: 50 });

const watch = await watchServers({
  databaseUrl: SERVER_URL,
  metricsUrl: `${url}/metrics`,
  adminToken: ADMIN_TOKEN,
});
const rss: number[] = [];
const rssTimer = setInterval(() => rss.push(rssMb(service.pid).current), 1_000);
const args: SoakLoadArgs = {
  url,
  ratePerSec,
  minutes,
  warmupSeconds,
  jwtSecret: JWT_SECRET,
  loginUsers,
  readUsers,
  password,
  idOffset: readUsers,
  maxInFlight: 2_000,
};
let warmup: MinuteFigures | undefined;
let watched = Promise.resolve();
const figures = await new Promise<MinuteFigures[]>((resolve, reject) => {
  const child = fork(benchScript('soak-load'), [JSON.stringify(args)], {
    cwd: ROOT,
    execArgv: [...loaderFlags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let minuteRss = 0;
  const seen: MinuteFigures[] = [];
  child.on('message', (message: { type: string; figures?: MinuteFigures; minutes?: MinuteFigures[] }) => {
    if (message.type === 'warmup' && message.figures) {
      const f = message.figures;
      minuteRss = rss.length;
      console.log(
        `  warm-up (${warmupSeconds} s, not counted): ${f.completed} done, ${f.errors} errors, ` +
          `p99 ${f.p99Ms.toFixed(1)} ms`,
      );
      warmup = f;
      // The counted minutes' figures start here.
      watched = watched.then(() => watch.take()).then(() => {});
    }
    if (message.type === 'minute' && message.figures) {
      const f = message.figures;
      const window = rss.slice(minuteRss);
      minuteRss = rss.length;
      const rssNow = window.at(-1) ?? 0;
      Object.assign(f, { rssMb: rssNow, rssMaxMb: Math.max(...window, 0) });
      seen.push(f);
      // Taken in order, one per minute; printed as soon as it is read.
      const minute = f.minute;
      watched = watched.then(async () => {
        const servers = await watch.take();
        Object.assign(f, { servers });
        console.log(
          `    minute ${minute} servers: event-loop lag max ${servers.eventLoopLagMaxMs?.toFixed(0) ?? '?'} ms; InnoDB checkpoint age max ` +
            `${servers.checkpointAgeMaxMb.toFixed(0)} of ${servers.logFileMb.toFixed(0)} MB, dirty pages max ${servers.dirtyPagesMax}, ` +
            `${servers.pagesFlushed} pages flushed, ${servers.fsyncs} fsyncs, ${servers.waitFree} free-page waits, ${servers.logWaits} log waits` +
            (servers.cpu
              ? `; CPU busy ${(100 * servers.cpu.busyShare).toFixed(0)}%, steal ${(100 * servers.cpu.stealShare).toFixed(1)}%`
              : '') +
            (servers.disk
              ? `; disk ${servers.disk.device}: ${servers.disk.flushes} flushes, mean ${servers.disk.flushMeanMs.toFixed(2)} ms, ` +
                `${servers.disk.writes} writes, mean ${servers.disk.writeMeanMs.toFixed(2)} ms`
              : ''),
        );
      });
      console.log(
        `  minute ${f.minute}: ${(f.completed / 60).toFixed(0)}/s done, ${f.errors} errors, p50 ${f.p50Ms.toFixed(1)} ms, ` +
          `p99 ${f.p99Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(0)} ms, RSS ${rssNow.toFixed(0)} MB; done ${JSON.stringify(f.byKind)}; ` +
          `p99 by kind ${JSON.stringify(Object.fromEntries(Object.entries(f.p99ByKindMs).map(([k, v]) => [k, Math.round(v)])))}`,
      );
      for (const sample of f.errorSamples) console.log(`    error: ${sample}`);
    }
    if (message.type === 'done') resolve(seen);
  });
  child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`soak load exited with ${code}`))));
});
clearInterval(rssTimer);
await watched;
await watch.stop();
await service.stop();
await db.drop();

const first = figures[0] as MinuteFigures & { rssMb: number };
const last = figures.at(-1) as MinuteFigures & { rssMb: number };
const errors = figures.reduce((sum, f) => sum + f.errors, 0);
const verdict = {
  errors,
  p99FirstMs: first.p99Ms,
  p99LastMs: last.p99Ms,
  p99Ratio: last.p99Ms / first.p99Ms,
  rssFirstMb: first.rssMb,
  rssLastMb: last.rssMb,
  rssRatio: last.rssMb / first.rssMb,
};
console.log(
  `soak ${errors === 0 ? 'held' : 'FAILED'}: ${errors} errors; p99 first minute ${verdict.p99FirstMs.toFixed(1)} ms, last ${verdict.p99LastMs.toFixed(1)} ms ` +
    `(×${verdict.p99Ratio.toFixed(2)}); RSS ${verdict.rssFirstMb.toFixed(0)} → ${verdict.rssLastMb.toFixed(0)} MB (×${verdict.rssRatio.toFixed(2)})`,
);
const file = join(resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ ratePerSec, source, minutes, warmupSeconds, warmup, figures, verdict, database: SERVER_URL.replace(/\/\/[^@]*@/, '//') }, null, 2)}\n`,
);
console.log(`written to ${file.replace(ROOT, '')}`);
process.exit(errors === 0 ? 0 : 1);
