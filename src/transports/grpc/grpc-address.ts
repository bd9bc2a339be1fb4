import { isIP } from 'node:net';

/** Where a gRPC role listens: `host:port` (port 0 picks a free one, for tests). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where a remote service is: a grpc-js target plus what it means. `grpc://10.0.0.5:50051,10.0.0.6:50051`
 * lists replicas (round-robin over them); `grpc://user-svc:50051` is resolved by DNS (round-robin over its
 * addresses). grpc-js cannot mix several host names in one target, so a list must be of IP addresses.
 */
export interface ServiceTarget {
  readonly url: string;
  /** What grpc-js dials: `ipv4:a:1,b:2`, `ipv6:[::1]:1` or `dns:///name:port`. */
  readonly target: string;
  /** `host:port` for TLS name checks and log lines. */
  readonly authority: string;
  /** The host of every address listed (IP addresses, or the one DNS name). */
  readonly hosts: readonly string[];
}

/** Whether traffic to this host stays on the machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65_535) return undefined;
  const host = match[1]!.replace(/^\[|\]$/g, '');
  return { host, port };
}

export function parseListenAddress(text: string): ListenAddress | string {
  const parsed = splitHostPort(text);
  if (!parsed) return `expects host:port such as 127.0.0.1:50051, got "${text}"`;
  return parsed;
}

export function parseServiceTarget(text: string): ServiceTarget | string {
  if (!text.startsWith('grpc://')) return `expects "local" or grpc://host:port[,host:port...], got "${text}"`;
  const entries = text.slice('grpc://'.length).replace(/\/$/, '').split(',');
  const parsed = entries.map(splitHostPort);
  if (parsed.some((entry) => entry === undefined)) {
    return `expects grpc://host:port[,host:port...], got "${text}"`;
  }
  const addresses = (parsed as Array<{ host: string; port: number }>).map(({ host, port }) => ({
    host: host === 'localhost' ? '127.0.0.1' : host,
    port,
  }));
  const families = new Set(addresses.map(({ host }) => isIP(host)));
  const first = addresses[0]!;
  const authority = `${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;
  const hosts = addresses.map(({ host }) => host);
  if (families.size === 1 && families.has(4)) {
    return {
      url: text,
      target: `ipv4:${addresses.map((a) => `${a.host}:${a.port}`).join(',')}`,
      authority,
      hosts,
    };
  }
  if (families.size === 1 && families.has(6)) {
    return {
      url: text,
      target: `ipv6:${addresses.map((a) => `[${a.host}]:${a.port}`).join(',')}`,
      authority,
      hosts,
    };
  }
  if (addresses.length === 1)
    return { url: text, target: `dns:///${first.host}:${first.port}`, authority, hosts };
  return `lists several addresses: use IP addresses of one family, or one DNS name whose records list the replicas, got "${text}"`;
}
