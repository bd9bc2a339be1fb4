import { setTimeout as sleep } from 'node:timers/promises';
import { queryOnce } from '../helpers/database.js';

/** Where each part lives: one database for the monolith, three for the split deployment. */
export interface Databases {
  readonly saga: string;
  readonly user: string;
  readonly score: string;
}

export const sameDatabase = (url: string): Databases => ({ saga: url, user: url, score: url });

export interface InvariantReport {
  readonly sagas: number;
  readonly succeeded: number;
  readonly aborted: number;
  /** Sagas not final yet (pending or compensating). */
  readonly open: number;
  readonly violations: readonly string[];
}

const USER_BRANCH = '01';
const SCORE_BRANCH = '02';

/**
 * What a saga service promises, checked from the tables alone:
 * - every saga is final: `succeeded` with exactly one user row and one score row, or `aborted` with neither;
 * - no user or score row exists without a succeeded saga;
 * - no barrier says a forward branch is done (op action, reason action) while its effect is missing,
 *   unless the branch's compensation is recorded too; a succeeded saga has no compensation recorded.
 * Each saga's user id must be its own (the chaos tests use a fresh id per registration).
 */
export async function checkInvariant(databases: Databases): Promise<InvariantReport> {
  const sagas = await queryOnce(
    databases.saga,
    "SELECT gid, status, CAST(JSON_VALUE(input, '$.user.id') AS CHAR) AS id FROM saga",
  );
  const countBy = (rows: Array<Record<string, unknown>>, column: string) => {
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(String(row[column]), (counts.get(String(row[column])) ?? 0) + 1);
    return counts;
  };
  const users = countBy(await queryOnce(databases.user, 'SELECT id FROM user'), 'id');
  const scores = countBy(await queryOnce(databases.score, 'SELECT user_id FROM user_score'), 'user_id');
  const barrierRows = async (url: string, branch: string) =>
    queryOnce(url, 'SELECT gid, op, reason FROM barrier WHERE branch_id = ?', [branch]);
  const userBarrier = await barrierRows(databases.user, USER_BRANCH);
  const scoreBarrier = await barrierRows(databases.score, SCORE_BRANCH);

  const violations: string[] = [];
  const byGid = new Map(sagas.map((saga) => [String(saga.gid), saga]));
  const succeededIds = new Set<string>();
  let succeeded = 0;
  let aborted = 0;
  let open = 0;
  for (const saga of sagas) {
    const id = String(saga.id);
    const rows = { users: users.get(id) ?? 0, scores: scores.get(id) ?? 0 };
    if (saga.status === 'succeeded') {
      succeeded++;
      succeededIds.add(id);
      if (rows.users !== 1 || rows.scores !== 1)
        violations.push(`${saga.gid} succeeded with ${rows.users} user and ${rows.scores} score rows`);
    } else if (saga.status === 'aborted') {
      aborted++;
      if (rows.users !== 0 || rows.scores !== 0)
        violations.push(`${saga.gid} aborted but left ${rows.users} user and ${rows.scores} score rows`);
    } else {
      open++;
      violations.push(`${saga.gid} is still ${saga.status}`);
    }
  }
  for (const id of users.keys())
    if (!succeededIds.has(id)) violations.push(`user ${id} has no succeeded saga`);
  for (const id of scores.keys())
    if (!succeededIds.has(id)) violations.push(`score ${id} has no succeeded saga`);

  const checkBarrier = (rows: typeof userBarrier, effect: Map<string, number>, what: string) => {
    const compensated = new Set(rows.filter((row) => row.op === 'compensate').map((row) => String(row.gid)));
    for (const row of rows) {
      const gid = String(row.gid);
      const saga = byGid.get(gid);
      if (!saga) {
        violations.push(`barrier row for unknown saga ${gid}`);
        continue;
      }
      if (
        row.op === 'action' &&
        row.reason === 'action' &&
        !compensated.has(gid) &&
        !effect.get(String(saga.id))
      )
        violations.push(
          `${gid}: barrier says ${what} done but its row is missing and no compensation is recorded`,
        );
      if (row.op === 'compensate' && saga.status === 'succeeded')
        violations.push(`${gid}: succeeded but its ${what} branch was compensated`);
    }
  };
  checkBarrier(userBarrier, users, 'saveUser');
  checkBarrier(scoreBarrier, scores, 'saveUserScore');

  return { sagas: sagas.length, succeeded, aborted, open, violations };
}

/** Polls until no saga is open (or `timeoutMs` passes), then checks the invariant once more. */
export async function settledInvariant(databases: Databases, timeoutMs: number): Promise<InvariantReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await queryOnce(
      databases.saga,
      "SELECT COUNT(*) AS n FROM saga WHERE status NOT IN ('succeeded', 'aborted')",
    );
    if (Number(row?.n) === 0 || Date.now() >= deadline) return checkInvariant(databases);
    await sleep(200);
  }
}
