import { InvalidArgument } from './errors.js';

export interface User {
  readonly id: number;
  readonly name: string;
  readonly gender: string;
}

/** A user as read back: with when its row was created (a token names the row it was issued for). */
export interface StoredUser extends User {
  readonly createdAt: Date;
}

/** What saveUser stores. A user without a password hash exists but cannot log in (as in the tutorial). */
export interface NewUser extends User {
  readonly passwordHash?: string | null;
}

export const NAME_MAX = 64;
export const GENDER_MAX = 16;
export const PASSWORD_HASH_MAX = 255;

/** Ids are positive integers that JSON and JavaScript can carry exactly (≤ 2^53 − 1). */
export function checkUserId(id: unknown, field = 'id'): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new InvalidArgument(
      `${field} must be a positive integer no larger than ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return id;
}

/** Parses an id that arrived as text (gRPC's string ids, JWT claims): digits only, then as above. */
export function parseUserId(text: string, field = 'id'): number {
  if (!/^[1-9]\d{0,15}$/.test(text)) {
    throw new InvalidArgument(
      `${field} must be a positive integer no larger than ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return checkUserId(Number(text), field);
}

// C0/C1 control characters have no place in a name and break logs and terminals.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A short human text: well-formed Unicode, not blank, no control characters, at most `max` characters. */
export function checkLabel(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new InvalidArgument(`${field} must be a string`);
  if (!value.isWellFormed()) throw new InvalidArgument(`${field} must be valid Unicode text`);
  // Column limits count characters (code points), not UTF-16 units.
  const length = [...value].length;
  if (length < 1 || length > max) throw new InvalidArgument(`${field} must be 1 to ${max} characters`);
  if (value.trim() === '') throw new InvalidArgument(`${field} must not be blank`);
  if (CONTROL.test(value)) throw new InvalidArgument(`${field} must not contain control characters`);
  return value;
}

export function checkNewUser(input: NewUser): NewUser {
  const passwordHash = input.passwordHash ?? null;
  if (
    passwordHash !== null &&
    (typeof passwordHash !== 'string' || passwordHash.length > PASSWORD_HASH_MAX)
  ) {
    throw new InvalidArgument(`passwordHash must be a string of at most ${PASSWORD_HASH_MAX} characters`);
  }
  return {
    id: checkUserId(input.id),
    name: checkLabel(input.name, 'name', NAME_MAX),
    gender: checkLabel(input.gender, 'gender', GENDER_MAX),
    passwordHash,
  };
}
