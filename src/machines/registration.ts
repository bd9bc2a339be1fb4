import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorInfo, InvalidArgument, TransientFailure } from '../domain/errors.js';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from '../domain/password.js';
import { isFinalStatus, type SagaLog, type SagaRecord } from '../domain/saga.js';
import { checkScore } from '../domain/score.js';
import type { SecretBox } from '../domain/secret-box.js';
import { checkLabel, checkUserId, GENDER_MAX, NAME_MAX, type User } from '../domain/user.js';
import type { UserService } from '../domain/user-service.js';
import { newGid } from './gid.js';
import { type RegisterInput, type RegisterResults, registerSaga } from './register-saga.js';
import type { SagaCoordinator, SagaResult } from './runtime/saga-coordinator.js';
import { traceIdOf } from './runtime/saga-tracing.js';

export interface RegisterRequest {
  readonly id?: number | undefined;
  readonly name: string;
  readonly gender: string;
  readonly password?: string | undefined;
  readonly score?: number | undefined;
}

export type RegistrationOutcome = (
  | { readonly status: 'succeeded'; readonly gid: string; readonly user: User; readonly score: number }
  | { readonly status: 'aborted'; readonly gid: string; readonly error: ErrorInfo }
  /** Not final within the wait: the saga goes on; its state is at /sagas/{gid}. */
  | { readonly status: 'pending'; readonly gid: string }
) & {
  /** The trace the saga was begun in, when tracing is on (the same for a replay). */
  readonly traceId?: string;
};

export interface RegistrationDeps {
  readonly coordinator: SagaCoordinator;
  /** Checks a replayed request's password once its saga has ended and dropped the sealed hash. */
  readonly users: Pick<UserService, 'verifyPassword'>;
  readonly log: SagaLog;
  readonly secrets: SecretBox;
  /** How long `register` waits for the saga to become final (REGISTER_WAIT_MS). */
  readonly waitMs: number;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 50;

/** A random id in 1..2^53−1 for a registration that did not choose one (collisions: ~n/2^53). */
function newUserId(): number {
  for (;;) {
    const id = Number(randomBytes(8).readBigUInt64BE() & BigInt(Number.MAX_SAFE_INTEGER));
    if (id > 0) return id;
  }
}

/** The gid for an Idempotency-Key: the same key always names the same saga. */
export function gidForKey(key: string): string {
  return `idem-${createHash('sha256').update(`register\0${key}`).digest('base64url')}`;
}

/**
 * What makes two requests "the same request" for an Idempotency-Key. The password is left out (a fast
 * hash of it in the log would be a weak password hash); a replay that carries one is checked against
 * the sealed scrypt hash instead.
 */
function fingerprintOf(request: RegisterRequest): string {
  const canonical = JSON.stringify([
    request.id ?? null,
    request.name,
    request.gender,
    request.score ?? 0,
    request.password !== undefined,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function checkRequest(request: RegisterRequest): void {
  if (request.id !== undefined) checkUserId(request.id);
  checkLabel(request.name, 'name', NAME_MAX);
  checkLabel(request.gender, 'gender', GENDER_MAX);
  if (request.score !== undefined) checkScore(request.score);
  if (request.password !== undefined) {
    const length = [...request.password].length;
    if (typeof request.password !== 'string' || length < PASSWORD_MIN || length > PASSWORD_MAX) {
      throw new InvalidArgument(`password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
    }
    // Lone surrogates all encode as U+FFFD: two different passwords would hash alike.
    if (!request.password.isWellFormed()) throw new InvalidArgument('password must be valid Unicode text');
  }
}

function withTraceId(outcome: RegistrationOutcome, traceContext: string | null): RegistrationOutcome {
  const traceId = traceIdOf(traceContext);
  return traceId === null ? outcome : { ...outcome, traceId };
}

/** Registration as the API offers it: one saga per request, idempotent per key, waited for a while. */
export function createRegistration(deps: RegistrationDeps) {
  function outcomeOf(
    gid: string,
    input: RegisterInput,
    result: SagaResult | SagaRecord,
  ): RegistrationOutcome {
    // A saga run here answers with its result; one read from the log, with its progress record.
    const fromLog = 'progress' in result ? result.progress : undefined;
    if (result.status === 'succeeded') {
      const results = fromLog ? fromLog.results : 'results' in result ? result.results : {};
      const saved = (results as RegisterResults).saveUser ?? input.user;
      return {
        status: 'succeeded',
        gid,
        user: { id: saved.id, name: saved.name, gender: saved.gender },
        score: input.score,
      };
    }
    if (result.status === 'aborted') {
      const error = fromLog ? fromLog.error : 'error' in result ? result.error : null;
      return { status: 'aborted', gid, error: error ?? { code: 'internal', message: 'saga aborted' } };
    }
    return { status: 'pending', gid };
  }

  /** Waits for a saga's final state: from this process if it runs it, else by reading the log. */
  async function settle(
    gid: string,
    input: RegisterInput,
    running?: Promise<SagaResult>,
  ): Promise<RegistrationOutcome> {
    const deadline = Date.now() + deps.waitMs;
    const local = running ?? deps.coordinator.result(gid);
    if (local) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), deps.waitMs);
      });
      const result = await Promise.race([local, timeout]);
      clearTimeout(timer);
      if (result && result.status !== 'released') return outcomeOf(gid, input, result);
    }
    // Another process works this saga (or took it over): follow it through the log.
    for (;;) {
      // The saga exists and goes on: a log we cannot read now (database down) means "pending" (202, look
      // again later), not 503, which would tell a client without an Idempotency-Key to register again.
      const record = await deps.log.get(gid).catch((error: unknown) => {
        if (error instanceof TransientFailure) return undefined;
        throw error;
      });
      if (record && isFinalStatus(record.status)) return outcomeOf(gid, input, record);
      if (Date.now() >= deadline) return { status: 'pending', gid };
      await sleep(POLL_MS);
    }
  }

  async function replay(
    record: SagaRecord,
    request: RegisterRequest,
    fingerprint: string,
  ): Promise<RegistrationOutcome> {
    const input = record.input as RegisterInput;
    let same = record.type === registerSaga.type && record.requestFingerprint === fingerprint;
    if (same && request.password !== undefined && input.sealedPasswordHash !== null) {
      try {
        same = await verifyPassword(
          request.password,
          deps.secrets.open(input.sealedPasswordHash, record.gid),
        );
      } catch {
        same = false; // sealed with another key: the request cannot be shown to be the same
      }
    } else if (same && request.password !== undefined && record.status === 'succeeded') {
      // The saga ended and dropped its sealed hash; the user row it created holds the password's hash.
      same = await deps.users.verifyPassword(input.user.id, request.password);
    }
    // An aborted saga that dropped its hash left no row to check a password against: the fingerprint
    // (everything but the password) decides, and the replay learns only that it aborted.
    if (!same) throw new InvalidArgument(undefined, 'idempotency_key_reused');
    return settle(record.gid, input);
  }

  return {
    async register(request: RegisterRequest, idempotencyKey?: string): Promise<RegistrationOutcome> {
      checkRequest(request);
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw new InvalidArgument('Idempotency-Key must be 1 to 255 visible ASCII characters');
      }
      const fingerprint = idempotencyKey === undefined ? null : fingerprintOf(request);
      const gid = idempotencyKey === undefined ? newGid() : gidForKey(idempotencyKey);
      if (idempotencyKey !== undefined) {
        const existing = await deps.log.get(gid);
        if (existing)
          return withTraceId(await replay(existing, request, fingerprint as string), existing.traceContext);
      }

      // Hashed (slowly, on purpose) and sealed before the saga exists: the log never sees a secret.
      const sealedPasswordHash =
        request.password === undefined ? null : deps.secrets.seal(await hashPassword(request.password), gid);
      const input: RegisterInput = {
        user: { id: request.id ?? newUserId(), name: request.name, gender: request.gender },
        score: request.score ?? 0,
        sealedPasswordHash,
      };
      const started = await deps.coordinator.begin(registerSaga.type, gid, input, fingerprint);
      if (!started.created) {
        // Another request with this key won the race to create the saga.
        const existing = await deps.log.get(gid);
        if (!existing) throw new InvalidArgument(undefined, 'idempotency_key_reused');
        return withTraceId(await replay(existing, request, fingerprint as string), existing.traceContext);
      }
      return withTraceId(await settle(gid, input, started.result), started.traceContext);
    },
  };
}

export type Registration = ReturnType<typeof createRegistration>;
