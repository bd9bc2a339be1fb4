/** The logger the runtime writes to: pino's shape, so the service passes its own. */
export interface RuntimeLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLogger: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };
