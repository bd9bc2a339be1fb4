import mysql from 'mysql2/promise';
import { SERVER_URL } from './bench-db.js';

/**
 * Bytes of InnoDB redo the server wrote across a window: `Innodb_lsn_current` (MariaDB's SHOW GLOBAL
 * STATUS) read at its start and at its end. The log sequence number counts bytes of redo, so the
 * difference divided by the operations done in the window is the redo each one cost: what fills the redo
 * log and drives the checkpoint flushing the soak runs into (issue 13). It is the whole server's: another
 * client writing during the window counts too, so the figure means something on a quiet server only.
 * Servers without the variable (MySQL 8) give undefined.
 */
export async function redoMeter() {
  const connection = await mysql.createConnection({ uri: SERVER_URL });
  const lsn = async (): Promise<number | undefined> => {
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_current'",
      );
      const value = rows[0]?.Value;
      return value === undefined ? undefined : Number(value);
    } catch (error) {
      // A side figure: the run goes on without it, and says why.
      console.error(`redo: could not read Innodb_lsn_current: ${(error as Error).message}`);
      return undefined;
    }
  };
  let started: Promise<number | undefined> = Promise.resolve(undefined);
  let ended: Promise<number | undefined> = Promise.resolve(undefined);
  return {
    /** Marks the window's start; returns at once (the read completes in the background). */
    start(): void {
      started = lsn();
    },
    /** Marks the window's end; returns at once. */
    stop(): void {
      ended = lsn();
    },
    /** The redo bytes between start() and stop(), once both reads are back; closes the connection. */
    async bytes(): Promise<number | undefined> {
      try {
        const [from, to] = await Promise.all([started, ended]);
        return from === undefined || to === undefined ? undefined : to - from;
      } finally {
        await connection.end();
      }
    },
  };
}
