import { describe, expect, it } from 'vitest';
import { createJsonLineLogger, type LogLevel } from './log.js';

describe('createJsonLineLogger', () => {
  it('writes one JSON object per line: time (ISO, from the clock), level, event, then the fields', () => {
    const written: Array<[string, LogLevel]> = [];
    const logger = createJsonLineLogger((line, level) => written.push([line, level]), 'info', () => Date.UTC(2030, 0, 2, 3, 4, 5));
    logger.log('warn', 'request', { status: 502, route: '/api', skipped: undefined });
    expect(written).toEqual([['{"time":"2030-01-02T03:04:05.000Z","level":"warn","event":"request","status":502,"route":"/api"}', 'warn']]);
  });

  it('drops levels below the minimum', () => {
    const lines: string[] = [];
    const logger = createJsonLineLogger((line) => lines.push(line), 'warn');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) logger.log(level, level);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['warn', 'error']);
  });
});
