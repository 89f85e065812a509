/**
 * Pure header and URL rules of the API proxy: what the upstream receives,
 * what the browser gets back, and where a request goes.
 */
import type { RouteConfig } from '../config.js';

/** Hop-by-hop headers (RFC 9110 7.6.1) plus proxy credentials: never forwarded either way. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const HOP_BY_HOP_SET = new Set(HOP_BY_HOP);

/**
 * Request headers the browser controls but the upstream must not trust:
 * the BFF's own cookies and CSRF header, any credentials, and client-IP or
 * forwarding claims (the BFF sets its own).
 */
const STRIPPED_REQUEST_HEADERS = new Set([
  'cookie',
  'cookie2',
  'authorization',
  'forwarded',
  'x-csrf',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-cluster-client-ip',
  'host',
  // Rewrites and method overrides some frameworks honour: they would bypass the route's base path or method list.
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'x-original-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** A header name as servers may interpret it: lowercase, underscores read as dashes. */
function canonicalName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/** An RFC 9110 token: the only thing a `Connection` list item may name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Removes hop-by-hop headers, including those the `Connection` header names (empty or invalid items ignored). */
export function stripHopByHopHeaders(headers: Headers): void {
  const named = headers.get('connection');
  if (named) {
    for (const item of named.split(',')) {
      const name = item.trim();
      if (HEADER_NAME.test(name)) headers.delete(name);
    }
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
}

/** What the BFF knows about the request it forwards. */
export interface ForwardingContext {
  /** The session's access token, or undefined for a public route. */
  accessToken: string | undefined;
  /** The client's address as seen by the BFF (socket or trusted hop), if known. */
  clientAddress: string | undefined;
  /** The BFF's public origin: the source of X-Forwarded-Proto/Host (never the request's Host header). */
  publicOrigin: string;
  /** The request's id (`x-request-id`), replacing whatever the browser sent. */
  requestId?: string | undefined;
}

/** The names a `Connection` header lists (valid tokens only, lowercased): hop-by-hop as well. */
function connectionNamed(value: string | null): Set<string> | undefined {
  if (!value) return undefined;
  const named = new Set<string>();
  for (const item of value.split(',')) {
    const name = item.trim();
    if (HEADER_NAME.test(name)) named.add(name.toLowerCase());
  }
  return named;
}

/** `X-Forwarded-Proto`/`-Host` values of the public origin (parsed once per origin, not per request). */
let forwardedOrigin: { origin: string; proto: string; host: string } | undefined;
function forwardedOriginOf(publicOrigin: string): { proto: string; host: string } {
  if (forwardedOrigin?.origin !== publicOrigin) {
    const url = new URL(publicOrigin);
    forwardedOrigin = { origin: publicOrigin, proto: url.protocol.slice(0, -1), host: url.host };
  }
  return forwardedOrigin;
}

/** Builds the headers sent upstream from the browser's request headers. */
export function buildUpstreamRequestHeaders(incoming: Headers, context: ForwardingContext): Headers {
  // One pass keeping what may go upstream (the hot path of every proxied call: no copy-then-delete).
  const headers = new Headers();
  const named = connectionNamed(incoming.get('connection'));
  incoming.forEach((value, name) => {
    if (HOP_BY_HOP_SET.has(name) || named?.has(name)) return;
    const canonical = canonicalName(name);
    // Underscore spellings (X_Forwarded_For) are stripped too: some stacks map them to the dashed header.
    if (STRIPPED_REQUEST_HEADERS.has(canonical) || canonical.startsWith('x-forwarded-') || canonical.startsWith('proxy-')) return;
    headers.append(name, value);
  });
  const origin = forwardedOriginOf(context.publicOrigin);
  if (context.clientAddress) headers.set('x-forwarded-for', context.clientAddress);
  headers.set('x-forwarded-proto', origin.proto);
  headers.set('x-forwarded-host', origin.host);
  if (context.accessToken !== undefined) headers.set('authorization', `Bearer ${context.accessToken}`);
  if (context.requestId !== undefined) headers.set('x-request-id', context.requestId);
  return headers;
}

/**
 * Cleans the upstream's response headers for the browser: no hop-by-hop
 * headers, no upstream cookies, and `Cache-Control: no-store` unless the
 * upstream chose private caching itself (a shared cache must never keep a
 * response made with a user's token).
 */
export function filterUpstreamResponseHeaders(upstream: Headers, route: RouteConfig): Headers {
  const headers = new Headers();
  const named = connectionNamed(upstream.get('connection'));
  upstream.forEach((value, name) => {
    // Hop-by-hop headers stay behind, and the upstream must never set cookies on the BFF's origin.
    if (HOP_BY_HOP_SET.has(name) || named?.has(name) || name === 'set-cookie' || name === 'set-cookie2') return;
    headers.append(name, value);
  });
  const cacheControl = (headers.get('cache-control') ?? '').toLowerCase();
  if (!/\b(private|no-store)\b/.test(cacheControl)) headers.set('cache-control', 'no-store');
  headers.set('x-content-type-options', 'nosniff');
  const location = headers.get('location');
  if (location !== null) headers.set('location', rewriteUpstreamLocation(location, route));
  return headers;
}

/**
 * Finds the route for a path: the first prefix that matches at a segment
 * boundary. `parseConfig` sorts routes longest prefix first, so the first
 * match is the longest.
 */
export function matchRoute(routes: readonly RouteConfig[], pathname: string): RouteConfig | undefined {
  return routes.find((route) => pathname === route.prefix || pathname.startsWith(`${route.prefix}/`));
}

/**
 * Whether a proxied path is safe to forward. Encoded slashes, backslashes and
 * dots survive the BFF's URL normalisation but may be decoded upstream,
 * escaping the route's base path (`/api/..%2fadmin`).
 */
export function isForwardablePath(rawPath: string): boolean {
  // `..;x` / `.;x` segments: servlet containers strip the `;params` and then resolve the dots.
  return !/%2e|%2f|%5c|\\/i.test(rawPath) && !/(^|\/)\.{1,2};/.test(rawPath);
}

/** Upstream URL for a request: the route prefix replaced by the target's path; query kept. */
export function upstreamUrl(route: RouteConfig, pathname: string, search: string): string {
  return `${route.target}${pathname.slice(route.prefix.length)}${search}`;
}

/** Maps an upstream redirect that points back into the route's target onto the public prefix. */
export function rewriteUpstreamLocation(location: string, route: RouteConfig): string {
  let resolved: URL;
  try {
    resolved = new URL(location, `${route.target}/`);
  } catch {
    return location;
  }
  const targetPath = new URL(route.target).pathname.replace(/\/$/, '');
  if (resolved.origin !== route.targetOrigin) return location;
  if (resolved.pathname !== targetPath && !resolved.pathname.startsWith(`${targetPath}/`)) return location;
  return `${route.prefix}${resolved.pathname.slice(targetPath.length)}${resolved.search}${resolved.hash}`;
}
