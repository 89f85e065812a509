/**
 * Structured logging: one JSON object per line. Callers pass fixed event
 * names and log-safe fields (codes, statuses, durations, route prefixes),
 * never a token, a cookie value or a secret.
 */

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where a failure happened, so operators see at once whose problem it is. */
export type FailureDomain = 'routing' | 'identity' | 'upstream' | 'config' | 'internal';

/** Log-safe fields of a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A structured logger. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

/** Writes JSON lines to the console (stderr for warnings and errors). */
export function createConsoleLogger(minLevel: LogLevel = 'info', now: () => number = Date.now): Logger {
  const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  return {
    log(level, event, fields) {
      if (order[level] < order[minLevel]) return;
      const line = JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields });
      if (order[level] >= order.warn) console.error(line);
      else console.log(line);
    },
  };
}

/** A logger that drops everything (for embedding and tests). */
export const silentLogger: Logger = { log() {} };
