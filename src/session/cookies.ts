/**
 * Cookie names, attributes, and chunking of sealed values (pure functions over
 * strings; the Hono wrapper only appends the `Set-Cookie` lines).
 *
 * Every cookie is `__Host-` prefixed (so `Secure`, `Path=/`, no `Domain`),
 * `HttpOnly`, with an explicit `SameSite`. A sealed value too large for one
 * cookie is split into numbered chunks so that every `Set-Cookie` line,
 * attributes included, stays within 4096 bytes.
 */
import { parse, serialize, type CookieOptions } from 'hono/utils/cookie';

/** Name of the session cookie (and prefix of its chunks: `…session.1`, `…session.2`). */
export const SESSION_COOKIE = '__Host-bff-session';
/** Prefix of login-transaction cookies; the suffix identifies the transaction. */
export const LOGIN_COOKIE_PREFIX = '__Host-bff-login.';
/** Longest `Set-Cookie` line we emit, attributes included (RFC 6265bis limit). */
export const MAX_SET_COOKIE_LINE = 4096;
/** Most chunks a session may use; a larger session is refused rather than silently truncated. */
export const MAX_SESSION_CHUNKS = 8;

/** Attributes common to every cookie hono-bff sets. */
function baseOptions(sameSite: 'Strict' | 'Lax', maxAgeSeconds: number): CookieOptions {
  return { path: '/', secure: true, httpOnly: true, sameSite, maxAge: Math.max(0, Math.floor(maxAgeSeconds)) };
}

/**
 * Parses a `Cookie` request header into name → value. A hono-bff cookie name
 * that appears twice (a cookie planted by a sibling subdomain or a script on
 * another path cannot be told apart from ours) is kept with an empty value,
 * which never unseals: the session counts as unusable and is cleared.
 */
export function parseCookieHeader(header: string | null | undefined): Record<string, string> {
  if (!header) return {};
  const cookies = parse(header);
  const seen = new Set<string>();
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!name.startsWith('__Host-bff-')) continue;
    if (seen.has(name)) cookies[name] = '';
    seen.add(name);
  }
  return cookies;
}

/** Name of chunk `index` of a chunked cookie (chunk 0 carries the bare name). */
export function chunkName(name: string, index: number): string {
  return index === 0 ? name : `${name}.${index}`;
}

/**
 * Reassembles a chunked cookie value from parsed request cookies.
 * @returns the value, or `undefined` when chunk 0 is missing.
 */
export function readChunkedCookie(cookies: Record<string, string>, name: string): string | undefined {
  const first = cookies[name];
  if (first === undefined) return undefined;
  let value = first;
  for (let i = 1; i < MAX_SESSION_CHUNKS; i++) {
    const part = cookies[chunkName(name, i)];
    if (part === undefined) break;
    value += part;
  }
  return value;
}

/**
 * How many chunk slots of `name` the request occupies: one past the highest
 * chunk index present, gaps and a missing chunk 0 included, so that writing
 * or clearing a session also removes stray chunks.
 */
export function countChunks(cookies: Record<string, string>, name: string): number {
  let n = 0;
  for (let i = 0; i < MAX_SESSION_CHUNKS; i++) if (cookies[chunkName(name, i)] !== undefined) n = i + 1;
  return n;
}

/**
 * `Set-Cookie` lines that store `value` under `name`, split into as many
 * chunks as needed, and expire the request's surplus chunks of an earlier,
 * larger value.
 *
 * @throws {RangeError} when the value would need more than {@link MAX_SESSION_CHUNKS} chunks.
 */
export function chunkedSetCookies(name: string, value: string, options: { sameSite: 'Strict' | 'Lax'; maxAgeSeconds: number; existingChunks: number }): string[] {
  const opts = baseOptions(options.sameSite, options.maxAgeSeconds);
  const longestName = chunkName(name, MAX_SESSION_CHUNKS - 1);
  const overhead = serialize(longestName, '', opts).length;
  const chunkSize = MAX_SET_COOKIE_LINE - overhead;
  // Sealed values are ASCII cookie-safe; anything else would be percent-encoded and could overflow a line.
  if (!/^[\w.*~-]*$/.test(value)) throw new RangeError('cookie value must be a sealed (cookie-safe ASCII) string');
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += chunkSize) chunks.push(value.slice(i, i + chunkSize));
  if (chunks.length === 0) chunks.push('');
  if (chunks.length > MAX_SESSION_CHUNKS) throw new RangeError('cookie value too large');
  const lines = chunks.map((chunk, i) => serialize(chunkName(name, i), chunk, opts));
  for (let i = chunks.length; i < options.existingChunks; i++) lines.push(expiredCookie(chunkName(name, i)));
  return lines;
}

/** A `Set-Cookie` line that deletes `name`. */
export function expiredCookie(name: string): string {
  return serialize(name, '', { ...baseOptions('Strict', 0), expires: new Date(0) });
}

/** `Set-Cookie` lines deleting every chunk of `name` present in the request, gaps included (at least chunk 0). */
export function expireChunkedCookie(cookies: Record<string, string>, name: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < MAX_SESSION_CHUNKS; i++) {
    if (i === 0 || cookies[chunkName(name, i)] !== undefined) lines.push(expiredCookie(chunkName(name, i)));
  }
  return lines;
}

/** A single `Set-Cookie` line for a login-transaction cookie (`SameSite=Lax`: the callback is a cross-site navigation). */
export function loginSetCookie(name: string, value: string, maxAgeSeconds: number): string {
  const line = serialize(name, value, baseOptions('Lax', maxAgeSeconds));
  if (line.length > MAX_SET_COOKIE_LINE) throw new RangeError('login cookie too large');
  return line;
}

/** Names of the login-transaction cookies in a request. */
export function loginCookieNames(cookies: Record<string, string>): string[] {
  return Object.keys(cookies).filter((name) => name.startsWith(LOGIN_COOKIE_PREFIX));
}
