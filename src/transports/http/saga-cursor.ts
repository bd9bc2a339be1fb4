import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgument } from '../../domain/errors.js';
import type { SagaPosition } from '../../domain/saga-queries.js';

const MAC_BYTES = 16;
const SHAPE = /^[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{22}$/;

export interface CursorCodec {
  encode(position: SagaPosition): string;
  /** The position a cursor names; `invalid_argument` for anything this codec did not write. */
  decode(cursor: string): SagaPosition;
}

/**
 * Opaque page cursors: the (created_at, gid) keyset position, signed so a cursor that was edited is
 * refused instead of silently starting a page somewhere else. Signed with a key derived from the admin
 * token, so every process of a deployment accepts the cursors of the others.
 */
export function createCursorCodec(secret: string): CursorCodec {
  const key = createHmac('sha256', 'saga-list-cursor').update(secret).digest();
  const mac = (body: string) => createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);
  const refuse = () => new InvalidArgument('cursor is not one this API returned (copy it unchanged)');

  return {
    encode({ createdAt, gid }) {
      const body = Buffer.from(JSON.stringify([createdAt.getTime(), gid])).toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    decode(cursor) {
      if (!SHAPE.test(cursor)) throw refuse();
      const [body = '', signature = ''] = cursor.split('.');
      const presented = Buffer.from(signature, 'base64url');
      if (presented.length !== MAC_BYTES || !timingSafeEqual(presented, mac(body))) throw refuse();
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        throw refuse();
      }
      if (
        !Array.isArray(value) ||
        value.length !== 2 ||
        !Number.isSafeInteger(value[0]) ||
        value[0] < 0 ||
        typeof value[1] !== 'string' ||
        value[1].length === 0 ||
        value[1].length > 128
      ) {
        throw refuse();
      }
      return { createdAt: new Date(value[0]), gid: value[1] };
    },
  };
}
