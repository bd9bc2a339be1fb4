import { BusinessFailure, InvalidArgument } from './errors.js';

/**
 * A branch's identity in DTM's terms: the barrier key. Saga branches use `action` and `compensate`;
 * the other ops are DTM's TCC (`try`/`confirm`/`cancel`) and workflow (`rollback`) ops, accepted so a DTM
 * server can drive our services in any of its modes.
 */
export const branchOps = ['action', 'compensate', 'try', 'confirm', 'cancel', 'rollback'] as const;
export type BranchOp = (typeof branchOps)[number];
/** The ops a saga's steps use: a forward action, and the compensation that undoes it. */
export type SagaOp = Extract<BranchOp, 'action' | 'compensate'>;

export interface BranchRef {
  readonly transType: string;
  readonly gid: string;
  readonly branchId: string;
  readonly op: BranchOp;
}

/**
 * For an op that undoes another, the op it undoes (DTM's `originOp`). A compensation first claims its
 * origin's barrier row, so the origin arriving later finds it taken (hanging) and does nothing.
 */
export const originOp: Partial<Record<BranchOp, BranchOp>> = {
  compensate: 'action',
  cancel: 'try',
  rollback: 'action',
};

export function isCompensatingOp(op: BranchOp): boolean {
  return originOp[op] !== undefined;
}

/**
 * What the barrier did with a call:
 * - `done`: the business code ran and committed with the barrier rows;
 * - `duplicate`: this op already ran for this branch; nothing ran again;
 * - `nullCompensation`: a compensation arrived before (or without) its action; nothing to undo, and the
 *   action is now blocked;
 * - `hanging`: an action arrived after its compensation; it did not run. Unlike DTM, which answers
 *   success here, we say so, because our coordinator must count the branch as compensated, not done.
 */
export const barrierOutcomes = ['done', 'duplicate', 'nullCompensation', 'hanging'] as const;
export type BarrierOutcome = (typeof barrierOutcomes)[number];

/**
 * How a caller gives up on a branch call (a coordinator stopping, or losing the saga): a remote call is
 * cancelled; a local one runs to its end, its transaction committing or rolling back whole. Either way
 * the barrier makes the replay by whoever resumes the saga safe.
 */
export interface BranchCallOptions {
  readonly signal?: AbortSignal;
  /**
   * Work to commit with the branch's local transaction, when the branch runs here: the saga log riding
   * in it (a remote service cannot take it; its caller knows and writes its log itself).
   */
  readonly alongside?: BranchRider;
}

/**
 * A rider on a branch's local transaction: written inside it, with what the barrier did. `transaction`
 * is the database's handle on the transaction (db/barrier.ts), opaque here; a throw rolls the whole
 * branch back.
 */
export interface BranchRider {
  /**
   * Written before the business code rather than after it (a business failure rolls both back): a row
   * created there is then no younger than the rows the business code writes, for readers that go by time.
   */
  readonly first: boolean;
  /**
   * False when the saga expects the branch to find nothing to do: the compensation of an action that
   * never committed (it was refused, or never ran here), a null compensation. The barrier then goes
   * statement by statement at once instead of sending the common case in one packet, which would only
   * learn it from the row counts and roll back. A hint: either way answers the same.
   */
  readonly expectsWork?: boolean;
  write(transaction: unknown, outcome: BarrierOutcome): Promise<void>;
}

export interface BranchReply<T> {
  readonly outcome: BarrierOutcome;
  readonly value: T;
}

/**
 * Runs a branch's business work at most once per op, inside one local transaction together with the
 * barrier rows. `work` gets the transaction-bound repositories (`Scope`); a throw rolls everything back.
 * Implemented over the database in db/barrier.ts.
 */
export interface BranchGuard<Scope> {
  run<T>(
    branch: BranchRef,
    work: (scope: Scope) => Promise<T>,
    alongside?: BranchRider,
  ): Promise<BranchRun<T>>;
}

export type BranchRun<T> = { outcome: 'done'; value: T } | { outcome: Exclude<BarrierOutcome, 'done'> };

/**
 * The one place a hanging action becomes an error. DTM answers a hanging action with success because its
 * server already knows the saga is aborting; our coordinators keep no such state for a replayed step, so
 * the branch refuses it as `branch_compensated` (gRPC: ABORTED) and no caller counts it as done.
 */
export function refuseHanging<R extends { readonly outcome: BarrierOutcome }>(run: R, action: string): R {
  if (run.outcome === 'hanging') {
    throw new BusinessFailure(
      'branch_compensated',
      `${action} arrived after its compensation: already compensated`,
    );
  }
  return run;
}

const MAX_GID = 128;
const MAX_BRANCH_ID = 128;
const MAX_TRANS_TYPE = 45;
const IDENTITY_TEXT = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Checks a barrier identity from an untrusted caller (DTM's BarrierFrom); missing parts are an error. */
export function parseBranchRef(raw: {
  transType?: string | undefined;
  gid?: string | undefined;
  branchId?: string | undefined;
  op?: string | undefined;
}): BranchRef {
  const { transType, gid, branchId, op } = raw;
  const missing = Object.entries({ transType, gid, branchId, op })
    .filter(([, value]) => value === undefined || value === '')
    .map(([name]) => name);
  if (missing.length > 0) throw new InvalidArgument(`barrier identity is missing ${missing.join(', ')}`);
  if ((gid as string).length > MAX_GID) throw new InvalidArgument(`gid is longer than ${MAX_GID} characters`);
  if ((branchId as string).length > MAX_BRANCH_ID) {
    throw new InvalidArgument(`branch id is longer than ${MAX_BRANCH_ID} characters`);
  }
  if ((transType as string).length > MAX_TRANS_TYPE) {
    throw new InvalidArgument(`trans type is longer than ${MAX_TRANS_TYPE} characters`);
  }
  // gRPC joins a metadata key sent twice into one value with ", ": a value with a comma or a space is
  // two identities in one, not one we can trust. DTM's own gids and ours are visible ASCII without them.
  for (const [name, value] of Object.entries({ gid, transType, branchId })) {
    if (!IDENTITY_TEXT.test(value as string)) {
      throw new InvalidArgument(`${name} must be visible ASCII without spaces or commas`);
    }
  }
  if (!(branchOps as readonly string[]).includes(op as string)) {
    throw new InvalidArgument(`op must be one of ${branchOps.join(', ')}`);
  }
  return {
    transType: transType as string,
    gid: gid as string,
    branchId: branchId as string,
    op: op as BranchOp,
  };
}
