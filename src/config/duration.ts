const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/**
 * Parses `500`, `500ms`, `30s`, `15m`, `12h` or `7d` into milliseconds (a bare number is milliseconds).
 * Returns undefined for anything else, so the caller can name the variable in its error.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms') as Unit;
  const value = Number(match[1]) * UNIT_MS[unit];
  return Number.isSafeInteger(value) ? value : undefined;
}
