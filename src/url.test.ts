import { describe, it, expect } from 'vitest';
import { isLoopbackHost, safeReturnTo } from './url.js';

const ORIGIN = 'https://app.example.com';

/** The invariant every safeReturnTo result must satisfy, whatever the input. */
function expectSameOriginPath(result: string): void {
  expect(typeof result).toBe('string');
  expect(result.startsWith('/')).toBe(true);
  expect(result.startsWith('//')).toBe(false);
  expect(result.includes('\\')).toBe(false);
  expect(/[\u0000-\u0020\u007f]/.test(result)).toBe(false);
  expect(new URL(result, ORIGIN).origin).toBe(ORIGIN);
  // Resolving against a different base must not escape to a third origin either.
  expect(new URL(result, 'https://other.example.net').origin).toBe('https://other.example.net');
}

/** Open-redirect payloads that must come back as exactly `/`. */
const MUST_BE_ROOT: ReadonlyArray<string | null | undefined> = [
  '//evil.com',
  '///evil.com',
  '////evil.com',
  '/\\evil.com',
  '/\\\\evil.com',
  '\\\\evil.com',
  '\\/evil.com',
  '/\\/evil.com',
  '/%2F%2Fevil.com',
  '/%2f%2fevil.com',
  '/%2F/evil.com',
  '%2F%2Fevil.com',
  '/%5Cevil.com',
  '/%5cevil.com',
  '/%5C/evil.com',
  '/%5C%5Cevil.com',
  '/\t/evil.com',
  '/\n/evil.com',
  '/\r/evil.com',
  '/ /evil.com',
  '/ \t//evil.com',
  '/\u0000/evil.com',
  '\u0000//evil.com',
  '/\u007f/evil.com',
  '/\u0085/evil.com',
  '/\u2028/evil.com',
  '/\u2029/evil.com',
  'https://evil.com',
  'http://evil.com',
  'HTTPS://EVIL.COM',
  'http:evil.com',
  'https:/evil.com',
  'https:\\\\evil.com',
  'https://app.example.com.evil.com/',
  'https://app.example.com@evil.com/',
  'https://app.example.com/notes',
  '//app.example.com.evil.com',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  ' javascript:alert(1)',
  'java\tscript:alert(1)',
  'javascript://%0aalert(1)',
  'data:text/html,x',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  '//evil.com@good',
  '//good@evil.com',
  '@evil.com',
  'evil.com',
  'evil.com/path',
  '//ｅｖｉｌ.com',
  '//evil%E3%80%82com',
  '/%09/evil.com',
  '/%0a/evil.com',
  '/%0A/evil.com',
  '/%0d/evil.com',
  '/%00/evil.com',
  '/%7f/evil.com',
  '//%09evil.com',
  '/%',
  '/%E0%A4%A',
  '/%zz',
  '/' + 'a'.repeat(2048),
  '/' + '%2F'.repeat(1000),
  'https://evil.com/' + 'a'.repeat(5000),
  '',
  null,
  undefined,
  '?x',
  '#x',
  '..//evil.com',
  './/evil.com',
  '.',
  '..',
  ' /notes',
  '/notes ',
  '/x\\..\\..\\evil.com',
];

/** Payloads that may come back as a same-origin path (but never escape). */
const MAY_BE_PATH: readonly string[] = [
  '/@evil.com',
  '/./evil.com',
  '/。evil.com',
  '/\u3000/evil.com',
  '/\u00a0/evil.com',
  '/\u200b/evil.com',
  '/／／evil.com',
  '/%EF%BC%8F%EF%BC%8Fevil.com',
  '/%E2%80%A8/evil.com',
  '/https://evil.com',
  '/%252F%252Fevil.com',
  '/..%2F..%2Fevil.com',
  '/a/../b',
  '/%2e%2e/%2fevil.com',
  '/x/../%2F/evil.com',
];

/**
 * Dot segments collapse to an empty first segment when the URL is resolved,
 * so the returned pathname starts with `//` (a protocol-relative URL).
 */
const DOT_SEGMENT_ESCAPES: readonly string[] = [
  '/..//evil.com',
  '/.//evil.com',
  '/a/..//evil.com',
  '/%2e%2e//evil.com',
  '/%2E%2E//evil.com',
  '/%2e//evil.com',
  '/.%2e//evil.com',
  '/x/./..//evil.com',
];

describe('safeReturnTo: open-redirect corpus', () => {
  it('has a large corpus', () => {
    expect(MUST_BE_ROOT.length + MAY_BE_PATH.length + DOT_SEGMENT_ESCAPES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(MUST_BE_ROOT.map((p) => [p]))('%j yields exactly "/"', (payload) => {
    const result = safeReturnTo(payload, ORIGIN);
    expectSameOriginPath(result);
    expect(result).toBe('/');
  });

  it.each(MAY_BE_PATH.map((p) => [p]))('%j stays on the same origin', (payload) => {
    const result = safeReturnTo(payload, ORIGIN);
    expectSameOriginPath(result);
  });

  it('never yields a host-looking first segment for encoded fullwidth or ideographic dots', () => {
    expect(safeReturnTo('/。evil.com', ORIGIN)).toBe('/%E3%80%82evil.com');
    expect(safeReturnTo('/./evil.com', ORIGIN)).toBe('/evil.com');
    expect(safeReturnTo('/@evil.com', ORIGIN)).toBe('/@evil.com');
  });

  // Regression: the `//` checks used to run on the raw value only, while the result is
  // `resolved.pathname` AFTER dot-segment removal, so `/..//evil.com` came back as `//evil.com`.
  it.each(DOT_SEGMENT_ESCAPES.map((p) => [p]))('%j does not turn into a protocol-relative path', (payload) => {
    const result = safeReturnTo(payload, ORIGIN);
    expectSameOriginPath(result);
  });
});

describe('safeReturnTo: legitimate paths are preserved exactly', () => {
  it.each([
    '/',
    '/notes',
    '/notes/',
    '/notes?x=1&y=2',
    '/a/b#frag',
    '/a/b?x=1#frag',
    '/%E2%9C%93',
    '/search?q=a%20b',
    '/search?q=a+b',
    '/search?next=%2Fhome',
    '/~user/profile',
    '/a;b=c',
    '/a-b_c.d',
    '/' + 'a'.repeat(2047),
  ])('%s', (path) => {
    expect(safeReturnTo(path, ORIGIN)).toBe(path);
  });

  it('honours a custom maxLength', () => {
    expect(safeReturnTo('/notes', ORIGIN, 6)).toBe('/notes');
    expect(safeReturnTo('/notes', ORIGIN, 5)).toBe('/');
  });

  it('works for a loopback http origin with a port', () => {
    expect(safeReturnTo('/x?y=1', 'http://localhost:3000')).toBe('/x?y=1');
    expect(safeReturnTo('//localhost:3001/x', 'http://localhost:3000')).toBe('/');
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', 'LocalHost', '127.0.0.1', '127.1.2.3', '127.0.0.0', '127.255.255.255', '[::1]', '::1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    'localhost.evil.com',
    'evil-localhost',
    'localhost.',
    '127.0.0.1.evil.com',
    'evil.127.0.0.1',
    '127.0.0.256',
    '127.0.0',
    '127.0.0.1.1',
    '127.00.0.1',
    '128.0.0.1',
    '0.0.0.0',
    '10.0.0.1',
    '[::2]',
    '[::ffff:7f00:1]',
    '',
    ' 127.0.0.1',
    '127.0.0.1 ',
  ])('%j is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it('matches hostnames as the URL parser normalises them', () => {
    expect(isLoopbackHost(new URL('http://127.1/').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://0x7f000001/').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://[0:0:0:0:0:0:0:1]/').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('http://127.0.0.1.evil.com/').hostname)).toBe(false);
  });
});
