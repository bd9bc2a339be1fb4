import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { serverInfo } from './bench-db.js';
import { ROOT } from './services.js';

/** What the figures were measured on: they mean nothing without it. */
export async function describeMachine() {
  const git = (command: string) => {
    try {
      return execSync(`git ${command}`, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    database: await serverInfo(),
    commit: git('rev-parse --short HEAD'),
    dirty: git('status --porcelain') !== '',
  };
}
