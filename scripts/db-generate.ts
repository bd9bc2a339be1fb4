// Generates SQL migrations for every schema set: `npm run db:generate` (add `-- --name what_changed`).
import { spawnSync } from 'node:child_process';
import { migrationSetNames } from '../src/db/migration-sets.js';

const extra = process.argv.slice(2);
for (const name of migrationSetNames) {
  console.log(`\n== ${name} ==`);
  const result = spawnSync('npx', ['drizzle-kit', 'generate', '--config', 'drizzle.config.ts', ...extra], {
    stdio: 'inherit',
    env: { ...process.env, DRIZZLE_SET: name },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
