import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * pino JSON logs; pretty-printed when a person is watching (a terminal, outside production).
 * Secrets are redacted by path as a second line of defence: the code never logs them on purpose.
 */
export function createLogger(options: {
  level: string;
  env: string;
  pretty?: boolean;
  /** Where lines go instead of stdout (tests read them); never pretty. */
  destination?: DestinationStream;
  /** Fields added to every line: the active trace's `trace_id` and `span_id` when tracing is on. */
  mixin?: () => object;
}): Logger {
  const pretty =
    options.destination === undefined &&
    (options.pretty ?? (process.stdout.isTTY === true && options.env !== 'production'));
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { pid: process.pid },
    ...(options.mixin ? { mixin: options.mixin } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'password',
        'passwordHash',
        'token',
        '*.password',
        '*.passwordHash',
        '*.sealedPasswordHash',
        '*.token',
      ],
      censor: '[redacted]',
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
