import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an IPv4 tail folded in), or undefined. */
function groupsOf(address: string): number[] | undefined {
  let text = address.split('%')[0] as string; // a zone id (fe80::1%eth0) names an interface, not a host
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest, extra] = text.split('::');
  if (extra !== undefined) return undefined;
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length;
  if (zeros < 0) return undefined;
  const groups = [...left, ...Array<string>(zeros).fill('0'), ...right].map((part) =>
    Number.parseInt(part, 16),
  );
  return groups.length === 8 && groups.every((group) => group >= 0 && group <= 0xffff) ? groups : undefined;
}

/**
 * What a client's requests are counted under by the rate limits: its IPv4 address, or the /64 its IPv6
 * address lies in. One IPv6 subscriber usually holds a whole /64 (RFC 6177) and can pick any address
 * in it, so counting single IPv6 addresses would give it 2^64 fresh budgets. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, a dual-stack socket) counts as the IPv4 address it carries.
 */
export function clientKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const groups = groupsOf(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = [groups[6] as number, groups[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
