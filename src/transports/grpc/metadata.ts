import * as grpc from '@grpc/grpc-js';
import { type BranchRef, parseBranchRef } from '../../domain/branch.js';
import { InvalidArgument } from '../../domain/errors.js';

/** DTM's names for the barrier identity in gRPC metadata (dtmgrpc). */
const GID = 'dtm-gid';
const TRANS_TYPE = 'dtm-trans_type';
const BRANCH_ID = 'dtm-branch_id';
const OP = 'dtm-op';

export function branchMetadata(branch: BranchRef, metadata = new grpc.Metadata()): grpc.Metadata {
  metadata.set(GID, branch.gid);
  metadata.set(TRANS_TYPE, branch.transType);
  metadata.set(BRANCH_ID, branch.branchId);
  metadata.set(OP, branch.op);
  return metadata;
}

/** One text value; a key sent twice is ambiguous (which barrier, which token?) and refused. */
function text(metadata: grpc.Metadata, key: string): string | undefined {
  const values = metadata.get(key);
  if (values.length > 1) throw new InvalidArgument(`metadata ${key} is given ${values.length} times`);
  const [value] = values;
  return typeof value === 'string' ? value : undefined;
}

/** The barrier identity of a branch call; InvalidArgument when any part is missing or malformed. */
export function branchFromMetadata(metadata: grpc.Metadata): BranchRef {
  return parseBranchRef({
    gid: text(metadata, GID),
    transType: text(metadata, TRANS_TYPE),
    branchId: text(metadata, BRANCH_ID),
    op: text(metadata, OP),
  });
}

/**
 * For log lines: the saga work a call belongs to (gid, branch, op as the caller sent them, unchecked and
 * cut short), so a server's lines can be matched with the coordinator's.
 */
export function branchLogFields(metadata: grpc.Metadata): { gid?: string; branchId?: string; op?: string } {
  const fields: { gid?: string; branchId?: string; op?: string } = {};
  const gid = text(metadata, GID);
  const branchId = text(metadata, BRANCH_ID);
  const op = text(metadata, OP);
  if (gid !== undefined) fields.gid = gid.slice(0, 128);
  if (branchId !== undefined) fields.branchId = branchId.slice(0, 32);
  if (op !== undefined) fields.op = op.slice(0, 32);
  return fields;
}

export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get('authorization');
  const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}
