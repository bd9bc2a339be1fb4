import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption (AES-256-GCM) for the few secrets a saga must carry through its durable log,
 * such as the password hash `saveUser` stores: the log, the dashboard and the inspector then hold only
 * ciphertext. Sealed values look like `v2.<iv>.<ciphertext>.<tag>` (base64url).
 */
export interface SecretBox {
  /**
   * `context` names what the value belongs to (a saga's gid): it is authenticated with the value, so a
   * sealed value copied into another saga's row does not open there.
   */
  seal(plaintext: string, context?: string): string;
  /** Throws when the value was not sealed with this key and context, or was altered. */
  open(sealed: string, context?: string): string;
}

/** v1: no context (what sagas begun before v2 carry); v2: the context is GCM's associated data. */
const V1 = 'v1';
const V2 = 'v2';
/**
 * GCM accepts tags of 4 to 16 bytes unless told the length, and checks only as many bytes as it is
 * given: a value whose tag was cut to 4 bytes would be forged in about 2^32 tries (issue #14).
 */
const TAG_BYTES = 16;

/** Derives the box's key from any secret of at least 32 characters (HKDF-SHA256, purpose-bound). */
export function createSecretBox(secret: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'saga-service/sealed-input/v1', 32));
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      if (context !== undefined) cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [context === undefined ? V1 : V2, iv, ciphertext, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(sealed, context) {
      const [version, iv, ciphertext, tag, extra] = sealed.split('.');
      if (
        (version !== V1 && version !== V2) ||
        !iv ||
        ciphertext === undefined ||
        !tag ||
        extra !== undefined
      )
        throw new Error('not a sealed value');
      if (version === V2 && context === undefined) throw new Error('this sealed value needs its context');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      if (version === V2) decipher.setAAD(Buffer.from(context as string, 'utf8'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}
