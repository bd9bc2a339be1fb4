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
      const figures: WatchWindow = {
        checkpointAgeMaxMb: Math.max(window.age, now.Innodb_checkpoint_age ?? 0) / 2 ** 20,
        logFileMb,
        dirtyPagesMax: Math.max(window.dirty, now.Innodb_buffer_pool_pages_dirty ?? 0),
        pagesFlushed: delta('Innodb_buffer_pool_pages_flushed'),
        fsyncs: delta('Innodb_data_fsyncs'),
        waitFree: delta('Innodb_buffer_pool_wait_free'),
        logWaits: delta('Innodb_log_waits'),
        eventLoopLagMaxMs: window.lag,
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
