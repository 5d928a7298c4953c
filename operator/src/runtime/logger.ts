import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Fields on every line, e.g. `{ component: 'operator' }`. */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/**
 * JSON lines with a string `level` and an ISO `time`, which is what log pipelines parse without configuration.
 * pid and hostname are left out: in a pod they are noise. There is no `err` serializer on purpose: errors are
 * logged through `errorFields()` so an ApiException (whose message holds the whole response) never is.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that drops everything: the default for library code constructed without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
