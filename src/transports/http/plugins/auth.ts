import { createHash, timingSafeEqual } from 'node:crypto';
import jwt from '@fastify/jwt';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Unauthenticated } from '../../../domain/errors.js';
import { parseUserId } from '../../../domain/user.js';

export interface AuthOptions {
  readonly jwtSecret: string;
  readonly jwtExpiresInSeconds: number;
  /** undefined: no admin token configured; admin routes are then not registered at all (404). */
  readonly adminToken: string | undefined;
}

interface TokenClaims {
  userId?: unknown;
  iat?: unknown;
}

/** Clock skew allowed between the instance that issued a token and the one checking it. */
const ISSUED_AT_TOLERANCE_S = 60;

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { userId: number };
    user: TokenClaims;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs the tutorial's token: HS256 with `userId`, `iat` and `exp`. */
    issueToken(userId: number): { token: string; expiresAt: string };
    /** The user id of the request's bearer token; 401 for a missing, bad or expired token. */
    authenticatedUserId(request: FastifyRequest): Promise<number>;
    /** Checks the admin bearer token (constant time); 401 otherwise. */
    requireAdmin(request: FastifyRequest): Promise<void>;
    readonly adminEnabled: boolean;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

const auth: FastifyPluginAsync<AuthOptions> = async (app, options) => {
  await app.register(jwt, {
    secret: options.jwtSecret,
    // Only HS256, on both sides: `alg: none` and RS/HS confusion are refused by the verifier itself.
    sign: { algorithm: 'HS256', expiresIn: options.jwtExpiresInSeconds }, // seconds (@fastify/jwt converts)
    verify: { algorithms: ['HS256'] },
  });

  app.decorate('issueToken', (userId: number) => {
    const token = app.jwt.sign({ userId });
    const { exp } = app.jwt.decode<{ exp: number }>(token) ?? { exp: 0 };
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  });

  app.decorate('authenticatedUserId', async (request: FastifyRequest) => {
    let claims: TokenClaims;
    try {
      claims = await request.jwtVerify<TokenClaims>();
    } catch {
      throw new Unauthenticated('unauthenticated', 'missing, expired or invalid token');
    }
    // fast-jwt checks nbf and exp but not iat: a token "issued" in the future is not valid yet either.
    if (claims.iat !== undefined) {
      if (typeof claims.iat !== 'number' || claims.iat > Date.now() / 1000 + ISSUED_AT_TOLERANCE_S) {
        throw new Unauthenticated('unauthenticated', 'missing, expired or invalid token');
      }
    }
    const userId = claims.userId;
    if (typeof userId === 'number') {
      if (Number.isSafeInteger(userId) && userId > 0) return userId;
    } else if (typeof userId === 'string') {
      try {
        return parseUserId(userId, 'userId');
      } catch {
        // fall through to the refusal below
      }
    }
    throw new Unauthenticated('unauthenticated', 'the token carries no valid userId claim');
  });

  const adminDigest = options.adminToken === undefined ? undefined : digest(options.adminToken);
  app.decorate('adminEnabled', adminDigest !== undefined);
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    const presented = bearer(request);
    // Comparing fixed-length digests keeps the check constant-time whatever the token's length.
    if (
      adminDigest === undefined ||
      presented === undefined ||
      !timingSafeEqual(digest(presented), adminDigest)
    ) {
      throw new Unauthenticated('unauthenticated', 'admin token required');
    }
  });
};

export default fp(auth, { name: 'auth', fastify: '5.x' });
