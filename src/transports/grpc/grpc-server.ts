import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { ListenAddress } from './grpc-address.js';
import { tolerantDefinition } from './malformed.js';
import { loadProtos } from './protos.js';

export interface ServiceBinding {
  /** Fully qualified name: `user.User` or `score.UserScore`. */
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** What the health service reports: SERVING while `probe` says the service can work (its database answers). */
export interface HealthProbe {
  readonly probe: () => Promise<boolean>;
  readonly intervalMs: number;
  /** Told when the answer changes, for a log line. */
  readonly onChange?: (serving: boolean) => void;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly address: string;
  stop(graceMs: number): Promise<void>;
}

const SERVER_OPTIONS: grpc.ServerOptions = {
  // Our messages are tiny; a large one is an attack or a bug, refused before it is parsed.
  'grpc.max_receive_message_length': 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

/**
 * One server for one role: the role's service (and the services that go with it, such as
 * barrier.Barriers), the standard health service (grpc.health.v1) and, when asked for, server reflection,
 * so grpcurl-style tools work. Health and reflection answer without the service token (orchestrator
 * probes cannot send metadata), while every call of our services needs it. Reflection describes every
 * method and message to whoever asks, so production leaves it off unless GRPC_REFLECTION says otherwise
 * (issue #14).
 */
export async function startGrpcServer(
  address: ListenAddress,
  binding: ServiceBinding | readonly ServiceBinding[],
  credentials: grpc.ServerCredentials,
  readiness?: HealthProbe,
  options: { readonly reflection?: boolean } = {},
): Promise<RunningGrpcServer> {
  const bindings: readonly ServiceBinding[] = Array.isArray(binding) ? binding : [binding as ServiceBinding];
  const names = bindings.map((each) => each.name);
  const server = new grpc.Server(SERVER_OPTIONS);
  for (const each of bindings) server.addService(tolerantDefinition(each.definition), each.implementation);
  const health = new HealthImplementation(
    Object.fromEntries(['', ...names].map((name) => [name, 'SERVING' as const])),
  );
  health.addToServer(server);
  // A service whose database is gone cannot work: say so, so balancers and orchestrators route around it.
  let serving = true;
  let checking = false;
  const timer =
    readiness &&
    setInterval(() => {
      if (checking) return;
      checking = true;
      readiness
        .probe()
        .catch(() => false)
        .then((ok) => {
          if (ok === serving) return;
          serving = ok;
          const status = ok ? 'SERVING' : 'NOT_SERVING';
          for (const name of ['', ...names]) health.setStatus(name, status);
          readiness.onChange?.(ok);
        })
        .finally(() => {
          checking = false;
        });
    }, readiness.intervalMs);
  timer?.unref();
  if (options.reflection) {
    new ReflectionService(loadProtos().definition, { services: names }).addToServer(server);
  }

  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${address.port}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    address: `${host}:${port}`,
    async stop(graceMs) {
      clearInterval(timer);
      for (const name of ['', ...names]) health.setStatus(name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
