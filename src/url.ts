/**
 * Small URL predicates shared by config validation and request handling.
 */

/**
 * Whether a URL hostname is a loopback host: `localhost`, `127.0.0.0/8` or `[::1]`.
 * Only these may use plain http (browsers treat them as secure contexts).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  return /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(host);
}

/**
 * Checks a post-login `returnTo` value: only a same-origin relative path is
 * accepted (`/x`, never `//x`, `/\x`, `https://…`, `javascript:`), anything
 * else yields `/`. Control characters and backslashes anywhere are refused
 * because browsers strip or reinterpret them when resolving the Location.
 *
 * @returns the path, query and fragment to redirect to, always starting with a single `/`.
 */
export function safeReturnTo(value: string | null | undefined, origin: string, maxLength = 2048): string {
  if (!value || value.length > maxLength) return '/';
  if (!value.startsWith('/') || value.startsWith('//')) return '/';
  // Backslashes act as slashes in browsers; controls and whitespace are stripped by URL parsers.
  if (/[\\\u0000-\u0020\u007f-\u009f\u2028\u2029]/.test(value)) return '/';
  // Percent-decoding must not reveal any of the above either (e.g. /%2F%2Fevil.com after a decoding hop).
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return '/';
  }
  if (decoded.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(decoded)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(value, origin);
  } catch {
    return '/';
  }
  if (resolved.origin !== origin) return '/';
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // Dot-segment removal can turn `/..//evil.com` into the protocol-relative `//evil.com`.
  if (path.startsWith('//') || path.includes('\\')) return '/';
  return path;
}
