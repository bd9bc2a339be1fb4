import { defineConfig } from 'drizzle-kit';
import { type MigrationSetName, migrationSetNames } from './src/db/migration-sets.js';

// One config per migration set (see src/db/migration-sets.ts); `npm run db:generate` runs drizzle-kit
// once per set with DRIZZLE_SET naming it.
const name = (process.env.DRIZZLE_SET ?? 'saga') as MigrationSetName;
if (!migrationSetNames.includes(name)) {
  throw new Error(`DRIZZLE_SET expects one of ${migrationSetNames.join(', ')}, got "${name}"`);
}

export default defineConfig({
  dialect: 'mysql',
  schema: `./src/db/schema/${name}.ts`,
  out: `./drizzle/${name}`,
  migrations: { table: `__drizzle_migrations_${name}` },
  dbCredentials: { url: process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/saga' },
});
