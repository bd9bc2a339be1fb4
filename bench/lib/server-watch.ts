import { readFileSync, statSync } from 'node:fs';
import mysql from 'mysql2/promise';

/**
 * Watches, every `intervalMs` during a soak, the two things a latency spike can come from: the database
 * server (InnoDB's redo checkpoint age, dirty pages, page flushes, fsyncs, waits for free pages or for
 * the log buffer) and the service's own event loop (its longest delay, from /metrics, which prom-client
 * resets at every scrape). Figures per window tell a database stall from a service pause.
 */
export interface WatchWindow {
  /** Largest checkpoint age seen, MB: how much redo is not yet covered by flushed pages. */
  readonly checkpointAgeMaxMb: number;
  readonly logFileMb: number;
  readonly dirtyPagesMax: number;
  readonly pagesFlushed: number;
  readonly fsyncs: number;
  readonly waitFree: number;
  readonly logWaits: number;
  /** The service's longest event-loop delay, ms (null when /metrics could not be read). */
  readonly eventLoopLagMaxMs: number | null;
  /**
   * The database's disk, from /proc/diskstats (null when the server is not on a local block device):
   * flushes (fsyncs reaching the device) and writes completed, and their mean time in ms.
   */
  /** Of the machine's CPU time in the window: share busy, and share the hypervisor took (steal). */
  readonly cpu: { readonly busyShare: number; readonly stealShare: number } | null;
  readonly disk: {
    readonly device: string;
    readonly flushes: number;
    readonly flushMeanMs: number;
    readonly writes: number;
    readonly writeMeanMs: number;
  } | null;
}

/** The machine's CPU time by kind, from /proc/stat's first line (jiffies). */
function cpuTimes(): { busy: number; idle: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      ?.trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    if (!fields || fields.length < 8) return undefined;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return undefined;
  }
}

interface DiskCounters {
  readonly writes: number;
  readonly writeMs: number;
  readonly flushes: number;
  readonly flushMs: number;
}

/** /proc/diskstats as fields per device: major, minor, name, then the counters. */
function diskstats(): string[][] {
  return readFileSync('/proc/diskstats', 'utf8')
    .split('\n')
    .map((row) => row.trim().split(/\s+/));
}

/** The block device holding `dir` as named in /proc/diskstats, if there is one (Linux, local server). */
function deviceOf(dir: string): string | undefined {
  try {
    const dev = statSync(dir).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    return diskstats().find((fields) => Number(fields[0]) === major && Number(fields[1]) === minor)?.[2];
  } catch {
    return undefined;
  }
}

function diskCounters(device: string): DiskCounters | undefined {
  const fields = diskstats().find((row) => row[2] === device);
  // After the name: reads(4) merged sectors ms, writes(8) merged sectors ms(11), ..., flushes(18) ms(19).
  if (!fields || fields.length < 20) return undefined;
  return {
    writes: Number(fields[7]),
    writeMs: Number(fields[10]),
    flushes: Number(fields[18]),
    flushMs: Number(fields[19]),
  };
}

const STATUS = [
  'Innodb_checkpoint_age',
  'Innodb_buffer_pool_pages_dirty',
  'Innodb_buffer_pool_pages_flushed',
  'Innodb_data_fsyncs',
  'Innodb_buffer_pool_wait_free',
  'Innodb_log_waits',
];

export async function watchServers(options: {
  readonly databaseUrl: string;
  readonly metricsUrl: string;
  readonly adminToken: string;
  readonly intervalMs?: number;
}) {
  const connection = await mysql.createConnection({ uri: options.databaseUrl });
  // MariaDB 10.5+ has one redo log file; MySQL 8.0.30+ sizes it by innodb_redo_log_capacity instead.
  const [logRows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@innodb_log_file_size AS bytes');
  const logFileMb = Number(logRows[0]?.bytes ?? 0) / 2 ** 20;
  const [dirRows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@datadir AS dir');
  const device = deviceOf(String(dirRows[0]?.dir ?? ''));
  let diskStart = device === undefined ? undefined : diskCounters(device);
  let cpuStart = cpuTimes();
  const status = async () => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS.map(() => '?').join(', ')})`,
      STATUS,
    );
    return Object.fromEntries(rows.map((row) => [row.Variable_name as string, Number(row.Value)]));
  };
  const lagMs = async (): Promise<number | null> => {
    try {
      const response = await fetch(options.metricsUrl, {
        headers: { authorization: `Bearer ${options.adminToken}` },
        signal: AbortSignal.timeout(2_000),
      });
      const match = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(
        await response.text(),
      );
      return match ? Number(match[1]) * 1000 : null;
    } catch {
      return null;
    }
  };

  let start = await status();
  let window = { age: 0, dirty: 0, lag: null as number | null };
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      const [now, lag] = await Promise.all([status(), lagMs()]);
      window.age = Math.max(window.age, now.Innodb_checkpoint_age ?? 0);
      window.dirty = Math.max(window.dirty, now.Innodb_buffer_pool_pages_dirty ?? 0);
      if (lag !== null) window.lag = Math.max(window.lag ?? 0, lag);
    });
  }, options.intervalMs ?? 2_000);

  return {
    /** The figures since the last call (or the start), and a new window from now. */
    async take(): Promise<WatchWindow> {
      await sampling;
      const now = await status();
      const delta = (name: string) => (now[name] ?? 0) - (start[name] ?? 0);
      const diskNow = device === undefined ? undefined : diskCounters(device);
      const disk =
        device !== undefined && diskNow && diskStart
          ? {
              device,
              flushes: diskNow.flushes - diskStart.flushes,
              flushMeanMs:
                (diskNow.flushMs - diskStart.flushMs) / Math.max(1, diskNow.flushes - diskStart.flushes),
              writes: diskNow.writes - diskStart.writes,
              writeMeanMs:
                (diskNow.writeMs - diskStart.writeMs) / Math.max(1, diskNow.writes - diskStart.writes),
            }
          : null;
      diskStart = diskNow;
      const cpuNow = cpuTimes();
      let cpu: WatchWindow['cpu'] = null;
      if (cpuNow && cpuStart) {
        const busy = cpuNow.busy - cpuStart.busy;
        const steal = cpuNow.steal - cpuStart.steal;
        const total = Math.max(1, busy + steal + cpuNow.idle - cpuStart.idle);
        cpu = { busyShare: busy / total, stealShare: steal / total };
      }
      cpuStart = cpuNow;
      const figures: WatchWindow = {
        checkpointAgeMaxMb: Math.max(window.age, now.Innodb_checkpoint_age ?? 0) / 2 ** 20,
        logFileMb,
        dirtyPagesMax: Math.max(window.dirty, now.Innodb_buffer_pool_pages_dirty ?? 0),
        pagesFlushed: delta('Innodb_buffer_pool_pages_flushed'),
        fsyncs: delta('Innodb_data_fsyncs'),
        waitFree: delta('Innodb_buffer_pool_wait_free'),
        logWaits: delta('Innodb_log_waits'),
        eventLoopLagMaxMs: window.lag,
        cpu,
        disk,
      };
      start = now;
      window = { age: 0, dirty: 0, lag: null };
      return figures;
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await sampling;
      await connection.end();
    },
  };
}
