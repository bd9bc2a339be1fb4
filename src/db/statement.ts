import { is, Param, Placeholder } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import type { ExecuteValues } from 'mysql2';

/**
 * A statement of the hot path: its SQL built once by drizzle from the schema (so table and column names
 * live in src/db/schema only), run through mysql2's `execute` (a server-side prepared statement per
 * connection). Drizzle's own `.prepare()` sends text-protocol queries and costs 2.4× the CPU per
 * registration for half the throughput (bench/experiments/drizzle-prepared.ts, bench/NOTES.md).
 */
export interface Statement<Names extends string> {
  readonly sql: string;
  /** The values in the statement's order; JSON columns are encoded by their schema type. */
  bind(values: Readonly<Record<Names, unknown>>): ExecuteValues[];
}

/** Builds queries for `statement()`; it never runs anything. */
export const sqlBuilder = drizzle.mock();

/** A query written with `sql.placeholder(name)` for each value, built into its SQL once. */
export function statement<Names extends string>(query: {
  toSQL(): { sql: string; params: unknown[] };
}): Statement<Names> {
  const { sql, params } = query.toSQL();
  return {
    sql,
    bind(values) {
      const named = values as Readonly<Record<string, unknown>>;
      const valueOf = (name: string) => {
        if (!(name in named)) throw new Error(`no value for ${name} in: ${sql}`);
        return named[name];
      };
      // drizzle's own fillPlaceholders encodes null too, and a datetime column's encoder fails on it; SQL
      // NULL needs no encoding.
      return params.map((param) => {
        if (is(param, Placeholder)) return valueOf(param.name);
        if (is(param, Param) && is(param.value, Placeholder)) {
          const value = valueOf(param.value.name);
          return value === null || value === undefined ? null : param.encoder.mapToDriverValue(value);
        }
        return param;
      }) as ExecuteValues[];
    },
  };
}
