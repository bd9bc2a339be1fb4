import { z } from 'zod';
import { parseDuration } from './duration.js';

// Small zod building blocks for environment variables: every message says what the variable expects,
// and an empty value (`FOO=`) counts as unset so a blank line in .env does not override a default.

const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** An integer, or undefined when unset. */
export function optionalInteger(options: { min: number; max: number }) {
  const expects = `an integer from ${options.min} to ${options.max}`;
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return undefined;
        const value = Number(text);
        if (!/^-?\d+$/.test(text.trim()) || value < options.min || value > options.max) {
          ctx.addIssue({ code: 'custom', message: `expects ${expects}, got "${text}"` });
          return z.NEVER;
        }
        return value;
      }),
  );
}

export function integer(options: { min: number; max?: number; default: number }) {
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const expects = `an integer from ${options.min} to ${max}`;
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return options.default;
        const value = Number(text);
        if (!/^-?\d+$/.test(text.trim()) || value < options.min || value > max) {
          ctx.addIssue({ code: 'custom', message: `expects ${expects}, got "${text}"` });
          return z.NEVER;
        }
        return value;
      }),
  );
}

export function duration(options: { default: string; min?: number }) {
  const min = options.min ?? 0;
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        const value = parseDuration(text ?? options.default);
        if (value === undefined || value < min) {
          ctx.addIssue({
            code: 'custom',
            message: `expects a duration such as 500ms, 30s, 15m, 12h or 7d${min > 0 ? ` (at least ${min} ms)` : ''}, got "${text}"`,
          });
          return z.NEVER;
        }
        return value;
      }),
  );
}

export function integerList(options: { default: number[] }) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return options.default;
        if (text.trim() === 'none') return [];
        const parts = text.split(',').map((part) => part.trim());
        if (parts.some((part) => !/^-?\d+$/.test(part))) {
          ctx.addIssue({
            code: 'custom',
            message: `expects comma-separated integers (or "none"), got "${text}"`,
          });
          return z.NEVER;
        }
        return parts.map(Number);
      }),
  );
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        const value = text ?? fallback;
        if (!(values as readonly string[]).includes(value)) {
          ctx.addIssue({ code: 'custom', message: `expects one of ${values.join(', ')}, got "${text}"` });
          return z.NEVER;
        }
        return value as T[number];
      }),
  );
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];

function flagField<T>(fallback: T) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .optional()
      .transform((text, ctx): boolean | T => {
        if (text === undefined) return fallback;
        const normalized = text.trim().toLowerCase();
        if (TRUE_WORDS.includes(normalized)) return true;
        if (FALSE_WORDS.includes(normalized)) return false;
        ctx.addIssue({ code: 'custom', message: `expects true/false (or 1/0), got "${text}"` });
        return z.NEVER;
      }),
  );
}

export function flag(fallback: boolean) {
  return flagField<boolean>(fallback);
}

/** true/false (or 1/0), or undefined when unset: for a default that depends on another variable. */
export function optionalFlag() {
  return flagField<undefined>(undefined);
}

export function optionalText() {
  return z.preprocess(unsetIfEmpty, z.string().optional());
}

export function text(fallback: string) {
  return z.preprocess(unsetIfEmpty, z.string().optional()).transform((value) => value ?? fallback);
}
