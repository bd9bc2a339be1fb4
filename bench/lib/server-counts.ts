import mysql from 'mysql2/promise';
import { SERVER_URL } from './bench-db.js';

/** What the database server did over a window, from SHOW GLOBAL STATUS. */
export interface ServerCounts {
  /** Bytes of InnoDB redo (Innodb_lsn_current's growth). */
  readonly redoBytes: number;
  /**
   * Statements the server ran for clients (Questions: each statement of a multi-statement packet
   * counts), and some of them by kind (COMMIT counts the commits a client asked for, not autocommits).
   */
  readonly statements: {
    readonly all: number;
    readonly insert: number;
    readonly update: number;
    readonly delete: number;
    readonly select: number;
    readonly commit: number;
    readonly rollback: number;
  };
}

const VARIABLES = {
  redo: 'Innodb_lsn_current',
  all: 'Questions',
  insert: 'Com_insert',
  update: 'Com_update',
  delete: 'Com_delete',
  select: 'Com_select',
  commit: 'Com_commit',
  rollback: 'Com_rollback',
} as const;

/**
 * The server's counters across a window, read at its start and at its end. The log sequence number
 * counts bytes of redo, so its growth divided by the operations done in the window is the redo each one
 * cost: what fills the redo log and drives the checkpoint flushing the soak runs into (issue 13). The
 * statement counters give the statements and commits per operation. They are the whole server's:
 * another client working during the window counts too (the meter's own two reads are taken off), so the
 * figures mean something on a quiet server only. A server without Innodb_lsn_current (MySQL 8) gives
 * undefined.
 */
export async function serverCounter() {
  const connection = await mysql.createConnection({ uri: SERVER_URL });
  const names = Object.values(VARIABLES);
  const read = async (): Promise<Map<string, number> | undefined> => {
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `SHOW GLOBAL STATUS WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
        names,
      );
      return new Map(rows.map((row) => [row.Variable_name as string, Number(row.Value)]));
    } catch (error) {
      // A side figure: the run goes on without it, and says why.
      console.error(`server status: could not read it: ${(error as Error).message}`);
      return undefined;
    }
  };
  let started: Promise<Map<string, number> | undefined> = Promise.resolve(undefined);
  let ended: Promise<Map<string, number> | undefined> = Promise.resolve(undefined);
  return {
    /** Marks the window's start; returns at once (the read completes in the background). */
    start(): void {
      started = read();
    },
    /** Marks the window's end; returns at once. */
    stop(): void {
      ended = read();
    },
    /** The counts between start() and stop(), once both reads are back; closes the connection. */
    async counts(): Promise<ServerCounts | undefined> {
      try {
        const [from, to] = await Promise.all([started, ended]);
        if (!from || !to?.has(VARIABLES.redo)) return undefined;
        const delta = (name: string) => (to.get(name) ?? 0) - (from.get(name) ?? 0);
        return {
          redoBytes: delta(VARIABLES.redo),
          statements: {
            // Less the SHOW at the end of the window, which Questions counts.
            all: delta(VARIABLES.all) - 1,
            insert: delta(VARIABLES.insert),
            update: delta(VARIABLES.update),
            delete: delta(VARIABLES.delete),
            select: delta(VARIABLES.select),
            commit: delta(VARIABLES.commit),
            rollback: delta(VARIABLES.rollback),
          },
        };
      } finally {
        await connection.end();
      }
    },
  };
}

/** Counts added up (rounds of one scenario). */
export function addCounts(list: readonly ServerCounts[]): ServerCounts {
  const sum = (pick: (counts: ServerCounts) => number) =>
    list.reduce((total, counts) => total + pick(counts), 0);
  return {
    redoBytes: sum((counts) => counts.redoBytes),
    statements: {
      all: sum((counts) => counts.statements.all),
      insert: sum((counts) => counts.statements.insert),
      update: sum((counts) => counts.statements.update),
      delete: sum((counts) => counts.statements.delete),
      select: sum((counts) => counts.statements.select),
      commit: sum((counts) => counts.statements.commit),
      rollback: sum((counts) => counts.statements.rollback),
    },
  };
}
