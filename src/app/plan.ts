import type { Config } from '../config.js';

/** What this process hosts, from its roles and where its services live. */
export interface Plan {
  readonly api: boolean;
  /** The user service runs here: to serve it over gRPC, or for a local api. */
  readonly hostsUser: boolean;
  readonly hostsScore: boolean;
  /** This process serves a role over gRPC, or its api calls a service over gRPC: gRPC is loaded. */
  readonly usesGrpc: boolean;
}

export function planOf(config: Config): Plan {
  const api = config.roles.has('api');
  const servesGrpc = config.roles.has('user') || config.roles.has('score');
  const callsGrpc = api && (config.services.user.kind === 'grpc' || config.services.score.kind === 'grpc');
  return {
    api,
    hostsUser: config.roles.has('user') || (api && config.services.user.kind === 'local'),
    hostsScore: config.roles.has('score') || (api && config.services.score.kind === 'local'),
    usesGrpc: servesGrpc || callsGrpc,
  };
}
