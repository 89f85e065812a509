/**
 * Structured logging: one JSON object per line. Callers pass fixed event
 * names and log-safe fields (codes, statuses, durations, route prefixes),
 * never a token, a cookie value or a secret.
 */

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Every level, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Where a failure happened, so operators see at once whose problem it is. */
export type FailureDomain = 'routing' | 'identity' | 'upstream' | 'config' | 'internal';

/** Log-safe fields of a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A structured logger. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

/**
 * A logger writing one JSON object per line (`time`, `level`, `event`, then
 * the fields) to `write`, dropping levels below `minLevel`.
 *
 * @example
 * const lines: string[] = []
 * const logger = createJsonLineLogger((line) => lines.push(line))
 */
export function createJsonLineLogger(write: (line: string, level: LogLevel) => void, minLevel: LogLevel = 'info', now: () => number = Date.now): Logger {
  const min = LOG_LEVELS.indexOf(minLevel);
  return {
    log(level, event, fields) {
      if (LOG_LEVELS.indexOf(level) < min) return;
      write(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }), level);
    },
  };
}

/** Writes JSON lines to the console (stderr for warnings and errors). */
export function createConsoleLogger(minLevel: LogLevel = 'info', now: () => number = Date.now): Logger {
  return createJsonLineLogger((line, level) => (level === 'warn' || level === 'error' ? console.error(line) : console.log(line)), minLevel, now);
}

/** A logger that drops everything (for embedding and tests). */
export const silentLogger: Logger = { log() {} };
