/** Exponential backoff with jitter for transient step failures (RETRY_BASE_MS, RETRY_FACTOR, RETRY_MAX_MS). */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

/** The un-jittered delay before attempt `attempt + 1`, after `attempt` failures (attempt ≥ 1). */
export function backoffCeiling(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxMs, policy.baseMs * policy.factor ** exponent);
}

/**
 * "Equal jitter": half the ceiling plus a random share of the other half, so retries of many sagas
 * spread out (no thundering herd after an outage) while each still waits at least half the ceiling.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(policy, attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The shortest delay the next retry can have: what a deadline check must assume. */
export function backoffFloor(policy: RetryPolicy, attempt: number): number {
  return Math.round(backoffCeiling(policy, attempt) / 2);
}
