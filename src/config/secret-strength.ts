/**
 * Placeholders people copy from examples; `.env.example`'s own is first. Each is long enough to pass a
 * length check, which is how the example's one passed the production check (issue #14).
 */
const PLACEHOLDERS = ['change-me-to-at-least-32-random-characters'];
const PLACEHOLDER_WORDS = /change[-_ ]?me|replace[-_ ]?me|placeholder|example|your[-_ ]?secret|x{8,}/i;

/**
 * A random secret of 32 characters has dozens of distinct ones (hex has 16); a secret with fewer than
 * this was typed, not generated.
 */
export const MIN_DISTINCT_CHARACTERS = 10;

/** Why a production secret is not one, or undefined when it may be. Length is checked by the caller. */
export function weakSecretReason(value: string): string | undefined {
  if (PLACEHOLDERS.includes(value.trim().toLowerCase()) || PLACEHOLDER_WORDS.test(value)) {
    return 'is a placeholder from an example';
  }
  const distinct = new Set(value).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) {
    return `has only ${distinct} distinct characters (at least ${MIN_DISTINCT_CHARACTERS}: generate one with openssl rand -base64 48)`;
  }
  return undefined;
}
