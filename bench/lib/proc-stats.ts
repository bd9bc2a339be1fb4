import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Current and peak resident set size of a process, in MB (Linux /proc). */
export function rssMb(pid: number): { current: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { current: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The database server's process on this machine, if it runs here (its CPU counts as well). */
export function databasePid(): number | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = execFileSync('pidof', ['-s', name], { encoding: 'utf8' }).trim();
      if (pid) return Number(pid);
    } catch {
      // not running under that name
    }
  }
  return undefined;
}

/** CPU used by a set of processes across a window: call `start()` then `stop()`. */
export function cpuMeter(pids: readonly number[]) {
  let before = 0;
  const total = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  return {
    start() {
      before = total();
    },
    stop(): number {
      return total() - before;
    },
  };
}
