import fc from 'fast-check';

/** Strings that break naive SQL: each must be stored and answered as plain text. */
export const sqlInjections = [
  "'; DROP TABLE user; --",
  "' OR '1'='1",
  '1; DELETE FROM user_score WHERE 1=1; --',
  "\\'; UPDATE saga SET status='succeeded'; --",
  "x' UNION SELECT password_hash FROM user --",
  '" OR ""="',
  '`; TRUNCATE barrier; --',
  "Robert'); DROP TABLE saga;--",
  '%_\\%\\_',
  '\u0000\u001a\\0',
] as const;

/** Any text: every code point, lone surrogates included, and the injection strings. */
export const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.constantFrom(...sqlInjections),
  fc.constantFrom('', ' ', '\t\n', 'x'.repeat(65), '😀'.repeat(64), '😀'.repeat(65), 'é'.repeat(300)),
);

/** Values of every JSON type, and numbers at the edges of what an id or a score may be. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  anyText,
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 - 1, 1e308, -0, 0.5, 10),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

/** Header values fetch can send (visible ASCII and spaces), plus the interesting ones. */
export const headerText = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => text.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    '*/*',
  ),
);

/** A request body: a JSON value of any shape, one shaped like the route's with any values, or raw text. */
export function bodies(fields: readonly string[]) {
  const shaped = fc.record(
    Object.fromEntries(fields.map((field) => [field, anyValue])) as Record<string, fc.Arbitrary<unknown>>,
    {
      requiredKeys: [],
    },
  );
  return fc.oneof(
    shaped.map((body) => ({ body })),
    fc
      .tuple(shaped, fc.string({ maxLength: 8 }), anyValue)
      .map(([body, key, value]) => ({ body: { ...body, [key]: value } })),
    fc.jsonValue({ maxDepth: 3 }).map((body) => ({ body })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((raw) => ({ raw })),
    fc
      .constantFrom(20_000, 16 * 1024 - 40, 1_000_000)
      .map((size) => ({ raw: `{"name":"${'x'.repeat(size)}"}` })),
  );
}
