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
  userCreatedAt?: unknown;
}

/** What a verified token says: whose it is, when it was issued, and for which row of that user. */
export interface VerifiedToken {
  readonly userId: number;
  /** `iat`, seconds; undefined for a token without one. */
  readonly issuedAt: number | undefined;
  /** `userCreatedAt`: the creation time (ms) of the user row it was issued for; older tokens lack it. */
  readonly userCreatedAt: number | undefined;
}

/**
 * Whether a token belongs to the user row that exists now. Ids can be registered again after a
 * compensation deleted the first row, and a token must not outlive the account it was issued for
 * (issue #14). Ours name the row's creation time exactly; a token without that claim (issued before
 * it existed, or elsewhere) must at least have been issued after the row was created. Second-level:
 * `iat` has no finer grain.
 */
export function tokenFitsUser(token: VerifiedToken, createdAt: Date): boolean {
  if (token.userCreatedAt !== undefined) return token.userCreatedAt === createdAt.getTime();
  return token.issuedAt !== undefined && token.issuedAt >= Math.floor(createdAt.getTime() / 1000);
}

/** Clock skew allowed between the instance that issued a token and the one checking it. */
const ISSUED_AT_TOLERANCE_S = 60;

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { userId: number; userCreatedAt: number };
    user: TokenClaims;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Signs the tutorial's token (HS256 with `userId`, `iat` and `exp`) plus `userCreatedAt`, the
     * creation time of the user row it is issued for.
     */
    issueToken(userId: number, userCreatedAt: Date): { token: string; expiresAt: string };
    /**
     * The request's bearer token, verified; 401 for a missing, bad or expired token. Whether it fits
     * the user row that exists now is the caller's to check (tokenFitsUser), once it has read the row.
     */
    authenticatedToken(request: FastifyRequest): Promise<VerifiedToken>;
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

  app.decorate('issueToken', (userId: number, userCreatedAt: Date) => {
    const token = app.jwt.sign({ userId, userCreatedAt: userCreatedAt.getTime() });
    const { exp } = app.jwt.decode<{ exp: number }>(token) ?? { exp: 0 };
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  });

  app.decorate('authenticatedToken', async (request: FastifyRequest): Promise<VerifiedToken> => {
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
    const userCreatedAt = claims.userCreatedAt;
    if (
      userCreatedAt !== undefined &&
      !(typeof userCreatedAt === 'number' && Number.isSafeInteger(userCreatedAt))
    ) {
      throw new Unauthenticated('unauthenticated', 'missing, expired or invalid token');
    }
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : undefined;
    const userId = claims.userId;
    if (typeof userId === 'number') {
      if (Number.isSafeInteger(userId) && userId > 0) return { userId, issuedAt, userCreatedAt };
    } else if (typeof userId === 'string') {
      try {
        return { userId: parseUserId(userId, 'userId'), issuedAt, userCreatedAt };
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
