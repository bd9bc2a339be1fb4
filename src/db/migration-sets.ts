import { join } from 'node:path';
import { projectRoot } from '../project-root.js';

/**
 * The schema is split into sets so each role creates only the tables it owns (a `user` service needs
 * `user` and `barrier`, the coordinator only `saga`), and each service can have its own database.
 * Each set has its own folder of drizzle-kit migrations and its own migrations table, so sets that
 * share one database (the monolith) do not see each other's history.
 */
export const migrationSetNames = ['saga', 'user', 'score', 'barrier'] as const;
export type MigrationSetName = (typeof migrationSetNames)[number];

export interface MigrationSet {
  readonly name: MigrationSetName;
  readonly schemaFile: string;
  readonly migrationsFolder: string;
  readonly migrationsTable: string;
}

export function migrationSet(name: MigrationSetName): MigrationSet {
  return {
    name,
    schemaFile: `./src/db/schema/${name}.ts`,
    migrationsFolder: join(projectRoot, 'drizzle', name),
    migrationsTable: `__drizzle_migrations_${name}`,
  };
}
