/**
 * `hono/cors` with a cheaper path for actual (non-preflight) requests.
 *
 * Hono's middleware sets its headers on `c.res` before calling the handler,
 * which makes Hono create a placeholder response and then copy the handler's
 * response into a new one (reading its body as a stream), and appends
 * `Vary: Origin` through `c.header()`, which copies the response again. On
 * the proxy's hot path those copies cost more than the rest of the request
 * handling together. This middleware sets the same headers, with the same
 * values, on the final response instead (after the handler, error answers
 * included), mutating its headers in place. Preflights (`OPTIONS`) are
 * answered by `hono/cors` itself, unchanged.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { cors as honoCors } from 'hono/cors';

/** The options of `hono/cors`. */
export type CorsOptions = NonNullable<Parameters<typeof honoCors>[0]>;

/** `hono/cors(options)`, same headers, without response copies on actual requests. */
export function cors(options: CorsOptions = {}): MiddlewareHandler {
  const preflight = honoCors(options);
  const optsOrigin = options.origin ?? '*';
  const exposeHeaders = options.exposeHeaders?.join(',');
  const findAllowOrigin = (origin: string, c: Context): string | null | undefined | Promise<string | null | undefined> => {
    if (typeof optsOrigin === 'string') return optsOrigin === '*' ? '*' : optsOrigin === origin ? origin : null;
    if (typeof optsOrigin === 'function') return optsOrigin(origin, c);
    return optsOrigin.includes(origin) ? origin : null;
  };

  return async function corsHeaders(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    const allowOrigin = await findAllowOrigin(c.req.header('origin') || '', c);
    await next();
    editHeaders(c, (headers) => {
      if (allowOrigin) headers.set('Access-Control-Allow-Origin', allowOrigin);
      if (options.credentials) headers.set('Access-Control-Allow-Credentials', 'true');
      if (exposeHeaders) headers.set('Access-Control-Expose-Headers', exposeHeaders);
      if (optsOrigin !== '*') headers.append('Vary', 'Origin');
    });
  };
}

/** Edits the final response's headers in place; a response with immutable headers (e.g. from `fetch`) is re-wrapped first. */
function editHeaders(c: Context, edit: (headers: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    c.res = new Response(c.res.body, c.res);
    edit(c.res.headers);
  }
}
