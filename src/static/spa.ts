/**
 * Serving the SPA from the BFF's origin: the files come from an injected
 * asset fetcher (a folder on Node, the `ASSETS` binding on Workers); this
 * module adds the SPA fallback to `index.html`, cache headers and the
 * security headers of the HTML document.
 */
import type { Context } from 'hono';
import { BffError } from '../errors.js';

/** Fetches static files, like Cloudflare's `ASSETS` binding: 404 when absent. */
export interface AssetFetcher {
  fetch(request: Request): Promise<Response>;
}

/** Cache policy for immutable, content-hashed build output (`assets/app-3f9a1c2b.js`). */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** The document and unhashed files must be revalidated so a deploy is seen at once. */
export const REVALIDATE_CACHE = 'no-cache';

/** Default Content-Security-Policy of the SPA document: same-origin everything, no framing. */
export const DEFAULT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** Whether a path looks like content-hashed build output (Vite's `name-[hash].ext`). */
export function isHashedAsset(pathname: string): boolean {
  return /\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/i.test(pathname);
}

/** Whether an unknown GET path should get the SPA's `index.html` (a client-side route) rather than a 404. */
export function wantsSpaFallback(pathname: string, accept: string | undefined): boolean {
  const last = pathname.split('/').pop() ?? '';
  const hasExtension = /\.[A-Za-z0-9]{1,8}$/.test(last);
  return !hasExtension || (accept ?? '').includes('text/html');
}

/**
 * The handler serving static files with SPA fallback. Mounted last, for GET
 * and HEAD only, so BFF endpoints and proxied routes always win.
 */
export function spaHandler(assets: AssetFetcher, options: { contentSecurityPolicy: string }) {
  return async function bffStaticFiles(c: Context): Promise<Response> {
    const url = new URL(c.req.url);
    const request = new Request(url, { method: c.req.method === 'HEAD' ? 'HEAD' : 'GET', headers: pick(c.req.raw.headers, ['accept', 'range', 'if-none-match', 'if-modified-since']) });
    let response = await assets.fetch(request);
    if (response.status === 404 && wantsSpaFallback(url.pathname, c.req.header('accept'))) {
      response = await assets.fetch(new Request(new URL('/index.html', url), { method: request.method }));
    }
    if (response.status === 404) throw new BffError('route_not_found');
    const headers = new Headers(response.headers);
    headers.set('x-content-type-options', 'nosniff');
    const isHtml = (headers.get('content-type') ?? '').startsWith('text/html');
    headers.set('cache-control', !isHtml && isHashedAsset(url.pathname) ? IMMUTABLE_CACHE : REVALIDATE_CACHE);
    if (isHtml) {
      headers.set('content-security-policy', options.contentSecurityPolicy);
      headers.set('referrer-policy', 'same-origin');
      headers.set('x-frame-options', 'DENY');
      headers.set('cross-origin-opener-policy', 'same-origin');
    }
    return new Response(response.body, { status: response.status, headers });
  };
}

function pick(source: Headers, names: string[]): Headers {
  const out = new Headers();
  for (const name of names) {
    const value = source.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}
