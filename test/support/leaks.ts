/**
 * Helpers of the security suites (test/security/*.test.ts):
 *
 * - a response recorder for a {@link TestBrowser}, and a leak finder that
 *   reports *which* secret appeared *where* by label only, so a failing
 *   assertion never prints a token or a secret;
 * - `Set-Cookie` parsing and the attribute rules every BFF cookie must follow;
 * - problem+json assertions;
 * - a raw HTTP request over node:http (paths byte for byte, any header name,
 *   any method), for what `fetch` would normalise or refuse.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import type { TestBrowser } from './browser.js';

// ---------------------------------------------------------------------------
// Recording responses and finding leaks

/** One response as the browser received it. */
export interface RecordedResponse {
  /** Method and URL without the query (queries can carry codes and states). */
  request: string;
  /** Full request URL (kept for the leak check, never printed). */
  url: string;
  status: number;
  /** Every header line, `Set-Cookie` lines one by one. */
  headers: Array<[string, string]>;
  /** Body text (empty for bodiless answers). */
  body: string;
}

/**
 * Wraps `browser.fetch` so every response (status, all headers, body text) is
 * recorded; the caller still gets an unread response. Returns the live list
 * and a function restoring the original fetch.
 */
export function recordResponses(browser: TestBrowser): { records: RecordedResponse[]; stop(): void } {
  const records: RecordedResponse[] = [];
  const original = browser.fetch;
  browser.fetch = async (url, init) => {
    const response = await original.call(browser, url, init);
    const target = new URL(url);
    const headers: Array<[string, string]> = [];
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers.push([name, value]);
    });
    for (const line of response.headers.getSetCookie()) headers.push(['set-cookie', line]);
    const body = response.body ? await response.clone().text() : '';
    records.push({ request: `${(init?.method ?? 'GET').toUpperCase()} ${target.origin}${target.pathname}`, url: target.href, status: response.status, headers, body });
    return response;
  };
  return {
    records,
    stop: () => {
      browser.fetch = original;
    },
  };
}

/** Secrets to look for, by label (`alice.at#1`, `client secret`, …); values are never printed. */
export type SecretMap = Record<string, string>;

/**
 * Where each secret appears in `haystacks` (label → places), as
 * `"<secret label> in <place>"` strings. Values shorter than 8 characters are
 * refused (they would match by accident and prove nothing).
 */
export function findLeaks(haystacks: Array<{ where: string; text: string }>, secrets: SecretMap): string[] {
  const found: string[] = [];
  for (const [label, value] of Object.entries(secrets)) {
    if (value.length < 8) throw new Error(`secret ${label} is too short to search for`);
    for (const { where, text } of haystacks) if (text.includes(value)) found.push(`${label} in ${where}`);
  }
  return found;
}

/** Asserts no secret appears in `text`; a failure names the secrets' labels, never their values. */
export function expectNoSecrets(text: string, secrets: SecretMap, where = 'text'): void {
  expect(findLeaks([{ where, text }], secrets)).toEqual([]);
}

/** The places of a recorded response to search: each header line and the body. */
export function haystacksOf(record: RecordedResponse): Array<{ where: string; text: string }> {
  return [
    ...record.headers.map(([name, value]) => ({ where: `${record.request} → ${record.status} header ${name}`, text: value })),
    { where: `${record.request} → ${record.status} body`, text: record.body },
  ];
}

/** The secrets of a stack's configuration: the client secret and every session secret. */
export function configSecrets(env: Record<string, string | undefined>): SecretMap {
  const secrets: SecretMap = { 'BFF_CLIENT_SECRET': env.BFF_CLIENT_SECRET! };
  (env.BFF_SESSION_SECRET ?? '').split(',').forEach((s, i) => {
    if (s.trim()) secrets[`BFF_SESSION_SECRET[${i}]`] = s.trim();
  });
  return secrets;
}

// ---------------------------------------------------------------------------
// Set-Cookie

/** A parsed `Set-Cookie` line: name, value and attributes (names lowercased). */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
  line: string;
}

/** Parses one `Set-Cookie` line (RFC 6265 syntax; attribute names lowercased, flags map to ''). */
export function parseSetCookie(line: string): SetCookie {
  const [pair = '', ...attrs] = line.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    const name = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    if (name) attributes.set(name, i < 0 ? '' : attr.slice(i + 1).trim());
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes, line };
}

/** Parsed `Set-Cookie` lines of a response. */
export function setCookiesOf(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map(parseSetCookie);
}

/** Whether a cookie line deletes its cookie (`Max-Age=0` and an empty value). */
export function isDeletion(cookie: SetCookie): boolean {
  return cookie.attributes.get('max-age') === '0' && cookie.value === '';
}

/** Names a response deletes. */
export function clearedNames(res: Response): string[] {
  return setCookiesOf(res).filter(isDeletion).map((c) => c.name).sort();
}

/** Names a response sets to a (non-empty) value. */
export function setNames(res: Response): string[] {
  return setCookiesOf(res).filter((c) => !isDeletion(c)).map((c) => c.name).sort();
}

/**
 * Violations of the BFF's cookie rules by one line: `__Host-` prefix,
 * `Secure`, `HttpOnly`, `Path=/`, no `Domain`, `SameSite=Strict` for the
 * session and its chunks, `Lax` for a login transaction being set (a deletion
 * of a transaction may say either), at most 4096 bytes.
 */
export function cookieRuleViolations(cookie: SetCookie): string[] {
  const problems: string[] = [];
  const a = cookie.attributes;
  const label = `${cookie.name}${isDeletion(cookie) ? ' (deletion)' : ''}`;
  if (!cookie.name.startsWith('__Host-')) problems.push(`${label}: no __Host- prefix`);
  if (!a.has('secure')) problems.push(`${label}: not Secure`);
  if (!a.has('httponly')) problems.push(`${label}: not HttpOnly`);
  if (a.get('path') !== '/') problems.push(`${label}: Path is ${JSON.stringify(a.get('path'))}`);
  if (a.has('domain')) problems.push(`${label}: has a Domain`);
  if (new TextEncoder().encode(cookie.line).length > 4096) problems.push(`${label}: line longer than 4096 bytes`);
  const sameSite = a.get('samesite');
  if (/^__Host-bff-session(\.\d+)?$/.test(cookie.name)) {
    if (sameSite !== 'Strict') problems.push(`${label}: SameSite is ${JSON.stringify(sameSite)}, expected Strict`);
  } else if (cookie.name.startsWith('__Host-bff-login.')) {
    const expected = isDeletion(cookie) ? ['Lax', 'Strict'] : ['Lax'];
    if (!expected.includes(sameSite ?? '')) problems.push(`${label}: SameSite is ${JSON.stringify(sameSite)}, expected ${expected.join(' or ')}`);
  } else {
    problems.push(`${label}: not a hono-bff cookie name`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// problem+json

/** Asserts an RFC 9457 problem with `status` and `code`; returns the body. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect({ status: res.status, contentType: res.headers.get('content-type') }).toEqual({ status, contentType: 'application/problem+json' });
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.title).toBe('string');
  return body;
}

/** The same for a {@link RawResponse}. */
export function expectRawProblem(res: RawResponse, status: number, code: string): Record<string, unknown> {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({ status, contentType: 'application/problem+json' });
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  return body;
}

// ---------------------------------------------------------------------------
// Raw HTTP

/** A response read over node:http. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP/1.1 request over node:http to 127.0.0.1:`port`, with the path sent
 * byte for byte and headers exactly as given (any token name, underscores
 * included). `host` defaults to `hostHeader`.
 */
export function rawRequest(options: {
  port: number;
  hostHeader: string;
  method?: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Uint8Array;
  timeoutMs?: number;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: options.hostHeader, ...options.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`raw ${options.method ?? 'GET'} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Runs `tasks` with at most `limit` in flight; results in order. */
export async function inBatches<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}
