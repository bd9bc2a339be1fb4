import { isIP } from 'node:net';

/**
 * Which proxies may tell us the client's address (fastify's `trustProxy`): none, the last `n` hops, or
 * the proxies at these addresses. `true` (every hop) lets a client pick its own address by writing
 * the left-most X-Forwarded-For entry, so each request could claim a fresh one and a per-client limit
 * would count nothing (issue #14).
 */
export type TrustProxy = false | true | number | readonly string[];

/** proxy-addr's names for address ranges, which fastify accepts in a list. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** `false`/`0`/unset, a hop count, `true`, or a comma-separated list of addresses, CIDRs or range names. */
export function parseTrustProxy(text: string | undefined): TrustProxy | string {
  const value = text?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'false' || value === 'no' || value === 'off')
    return false;
  if (value === 'true' || value === 'yes' || value === 'on') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops === 0 ? false : hops <= 10 ? hops : `expects a hop count of at most 10, got "${text}"`;
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (entries.length === 0 || bad.length > 0) {
    return (
      'expects a hop count (1 = the proxy in front of us) or a comma-separated list of proxy addresses ' +
      `or CIDRs (10.0.0.0/8, ::1, loopback), got "${text}"`
    );
  }
  return entries;
}
