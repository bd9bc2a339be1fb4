// `npm run db:migrate`: applies every schema set's migrations to DATABASE_URL (or the local default).
import { loadConfig } from '../config.js';
import { redactUrl } from './database-url.js';
import { resolveLocalDatabase } from './local-server.js';
import { migrateDatabase } from './migrate.js';
import { migrationSetNames } from './migration-sets.js';

const log = {
  info: (message: string) => console.log(message),
  warn: (message: string) => console.warn(message),
};

if (process.env.NODE_ENV !== 'production' && process.env.CI !== 'true') {
  try {
    process.loadEnvFile();
  } catch {
    // no .env file: the environment is all there is
  }
}
const config = loadConfig();
const database = config.database.url
  ? { url: config.database.url, stop: async () => {} }
  : await resolveLocalDatabase(config.database.dataDir, log);
try {
  await migrateDatabase(database.url, migrationSetNames, log);
  console.log(`database is up to date: ${redactUrl(database.url)}`);
} finally {
  await database.stop();
}
