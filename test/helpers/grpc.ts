import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { UserScoreClient } from '../../src/transports/grpc/generated/score/UserScore.js';
import type { UserClient } from '../../src/transports/grpc/generated/user/User.js';
import { loadProtos } from '../../src/transports/grpc/protos.js';

export const SERVICE_TOKEN = 'service-token-for-tests-0123456789';

/** Raw generated clients: they send exactly what a test (or a DTM server) puts on the wire. */
export function rawClients(address: string, credentials = grpc.credentials.createInsecure()) {
  const protos = loadProtos();
  return {
    user: new protos.user.User(address, credentials) as unknown as UserClient,
    score: new protos.score.UserScore(address, credentials) as unknown as UserScoreClient,
  };
}

/** DTM's barrier metadata plus (unless told otherwise) our service token. */
export function dtmMetadata(
  branch: { gid?: string; op?: string; branchId?: string; transType?: string },
  token: string | null = SERVICE_TOKEN,
): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (branch.gid !== undefined) metadata.set('dtm-gid', branch.gid);
  if (branch.transType !== null) metadata.set('dtm-trans_type', branch.transType ?? 'saga');
  if (branch.branchId !== null) metadata.set('dtm-branch_id', branch.branchId ?? '01');
  if (branch.op !== undefined) metadata.set('dtm-op', branch.op);
  if (token !== null) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

export type Outcome<T> =
  | { ok: true; response: T }
  | { ok: false; code: grpc.status; details: string; errorCode?: string };

/** Calls a unary method and returns what came back, success or status, without throwing. */
export function rawCall<Request, Response>(
  method: (
    request: Request,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Response>,
  ) => unknown,
  request: Request,
  metadata: grpc.Metadata,
): Promise<Outcome<Response>> {
  return new Promise((resolve) => {
    method(request, metadata, { deadline: Date.now() + 5_000 }, (error, response) => {
      if (error) {
        const code = error.metadata?.get('x-error-code')[0];
        resolve({
          ok: false,
          code: error.code ?? grpc.status.UNKNOWN,
          details: error.details,
          ...(typeof code === 'string' ? { errorCode: code } : {}),
        });
      } else resolve({ ok: true, response: response as Response });
    });
  });
}

/** grpc.health.v1 Check against a server: 'SERVING', 'NOT_SERVING', or the error. */
export function healthCheck(
  address: string,
  service = '',
  credentials = grpc.credentials.createInsecure(),
): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  // A private subchannel pool: a probe made while the server was still down must not leave later probes
  // waiting out the shared subchannel's reconnect backoff.
  const client = new Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1 }) as unknown as {
    check(
      request: { service: string },
      options: grpc.CallOptions,
      callback: grpc.requestCallback<{ status: string }>,
    ): void;
    close(): void;
  };
  return new Promise((resolve) => {
    client.check({ service }, { deadline: Date.now() + 2_000 }, (error, response) => {
      client.close();
      resolve(error ? `error: ${grpc.status[error.code ?? 2]}` : String(response?.status));
    });
  });
}

export interface Certificates {
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  readonly dir: string;
}

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'saga-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
  );
  for (const [name, extension] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
  const read = (file: string) => readFileSync(join(dir, file));
  return {
    ca: read('ca.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    dir,
  };
}

/** The services a server lists through gRPC server reflection (v1), or the status it answered with. */
export async function reflectedServices(
  address: string,
  credentials = grpc.credentials.createInsecure(),
): Promise<string[] | grpc.status> {
  const reflection = grpc.loadPackageDefinition(
    (await import('@grpc/proto-loader')).loadSync('reflection/v1/reflection.proto', {
      includeDirs: [
        new URL('../../node_modules/@grpc/reflection/build/proto/grpc/', import.meta.url).pathname,
      ],
      keepCase: true,
    }),
  ) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
        };
      };
    };
  };
  const client = new reflection.grpc.reflection.v1.ServerReflection(address, credentials) as grpc.Client & {
    ServerReflectionInfo(): grpc.ClientDuplexStream<
      object,
      { list_services_response?: { service: Array<{ name: string }> } }
    >;
  };
  const stream = client.ServerReflectionInfo();
  const answer = new Promise<string[] | grpc.status>((resolve) => {
    stream.on('data', (message) =>
      resolve(
        (message.list_services_response?.service ?? []).map((service: { name: string }) => service.name),
      ),
    );
    stream.on('error', (error: grpc.ServiceError) => resolve(error.code));
  });
  stream.write({ list_services: '' });
  const result = await answer;
  stream.end();
  client.close();
  return result;
}
