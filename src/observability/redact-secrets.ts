/**
 * Keys whose values are secrets wherever they appear: passwords, password hashes (sealed or not), tokens,
 * keys, credentials. Matched on the key's name, so a secret is removed by where it sits in the data, not
 * by what its value looks like (a hash or a token has no recognisable shape).
 */
const SECRET_KEY =
  /pass(word|wd|phrase)|secret|token|authori[sz]ation|cookie|api[-_]?key|private[-_]?key|credential/i;

export const REDACTED = '[redacted]';

/** How deep a value is copied; deeper parts are cut (inspection events nest a snapshot in an event). */
const MAX_DEPTH = 16;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * A plain-JSON copy of `value` with every secret key's value replaced by "[redacted]", at any depth.
 * Honours toJSON (XState snapshots drop their machine and live children that way), drops functions,
 * and cuts cycles and excessive depth instead of following them. Never mutates its input.
 */
export function redactSecrets(value: unknown): unknown {
  const path = new Set<object>();
  const copy = (current: unknown, depth: number): unknown => {
    if (current === null || typeof current !== 'object') {
      if (typeof current === 'function' || typeof current === 'symbol') return undefined;
      if (typeof current === 'bigint') return current.toString();
      return current;
    }
    const json = (current as { toJSON?: unknown }).toJSON;
    if (typeof json === 'function') {
      const replaced = json.call(current);
      if (replaced !== current) return copy(replaced, depth);
    }
    if (path.has(current)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    path.add(current);
    try {
      if (Array.isArray(current)) return current.map((item) => copy(item, depth + 1) ?? null);
      const result: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(current)) {
        if (isSecretKey(key)) {
          result[key] = REDACTED;
          continue;
        }
        const copied = copy(inner, depth + 1);
        if (copied !== undefined) result[key] = copied;
      }
      return result;
    } finally {
      path.delete(current);
    }
  };
  return copy(value, 0);
}
