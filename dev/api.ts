/**
 * Example API (resource server) the BFF proxies to. It accepts two kinds of Bearer, both
 * RS256-signed by the dev IdP (same JWKS):
 *
 * - an RFC 9068 `at+jwt` access token with `aud` = the API's resource indicator;
 * - a phantom token: the IdP's RFC 9701 introspection response (`typ`
 *   `token-introspection+jwt`, `aud` = the BFF's client id), whose `token_introspection`
 *   claims must say `active: true` with an `exp` in the future.
 *
 * It records every request so tests can see exactly what the BFF forwarded (hit counts,
 * absence of cookies, forwarded headers, which kind of token arrived).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { DEV_CLIENT_ID } from './constants.js';

/** Options for {@link startExampleApi}. */
export interface ExampleApiOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Expected `iss`; its discovery document supplies `jwks_uri`. */
  issuer: string;
  /** The resource indicator; the JWT `aud` must include it. */
  audience: string;
  /** `aud` of accepted phantom tokens (introspection JWTs): the BFF's client id. @default DEV_CLIENT_ID */
  phantomAudience?: string;
}

/** Which kind of Bearer a request carried. */
export type ApiTokenType = 'at+jwt' | 'phantom';

/** One request as received, before authentication. */
export interface RecordedRequest {
  method: string;
  /** Path plus query string. */
  path: string;
  /** Header names lowercased. */
  headers: Record<string, string>;
}

/** A running example API. */
export interface ExampleApi {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  resetRequests(): void;
  close(): Promise<void>;
}

interface Note { id: string; text: string; createdAt: string; }

const MAX_LARGE_BYTES = 10 * 1024 * 1024;
const CHUNK = 64 * 1024;
const ACCESS_TOKEN_TYP = new Set(['at+jwt', 'application/at+jwt']);
const PHANTOM_TOKEN_TYP = new Set(['token-introspection+jwt', 'application/token-introspection+jwt']);

/** RFC 9457 problem response; `code` is the machine-readable reason the BFF may map. */
function problem(status: 400 | 401 | 404, title: string, code: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (status === 401) headers['www-authenticate'] = `Bearer error="${code}"`;
  return new Response(JSON.stringify({ type: 'about:blank', title, status, code }), { status, headers });
}

/** A stream of `bytes` 'a's in 64 KiB chunks, produced on demand (tests streaming through the BFF). */
function streamOfA(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  let remaining = bytes;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (remaining <= 0) { controller.close(); return; }
      const n = Math.min(remaining, CHUNK);
      controller.enqueue(n === CHUNK ? chunk : chunk.subarray(0, n));
      remaining -= n;
    },
  }, { highWaterMark: 0 });
}

/**
 * The example API as a Hono app (no server). `fetch` is used for discovery and JWKS so
 * tests can inject one. Routes live under `/api`; `/api/public` needs no token.
 */
export function createExampleApiApp(options: { issuer: string; audience: string; phantomAudience?: string; fetch?: typeof fetch }): Hono {
  const doFetch = options.fetch ?? fetch;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  let jwksPending: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const notes = new Map<string, Note[]>();
  // Verified claims per request. A WeakMap instead of typed Hono variables keeps the
  // return type a plain `Hono`, which callers can mount anywhere.
  const claimsOf = new WeakMap<Request, { claims: JWTPayload; tokenType: ApiTokenType }>();
  const claims = (c: { req: { raw: Request } }): JWTPayload => claimsOf.get(c.req.raw)?.claims ?? {};
  const phantomAudience = options.phantomAudience ?? DEV_CLIENT_ID;

  /** Verifies either kind of Bearer; throws for anything else. */
  const verifyBearer = async (token: string): Promise<{ claims: JWTPayload; tokenType: ApiTokenType }> => {
    const typ = String(decodeProtectedHeader(token).typ ?? '').toLowerCase();
    if (PHANTOM_TOKEN_TYP.has(typ)) {
      const { payload } = await jwtVerify(token, await getJwks(), {
        issuer: options.issuer,
        audience: phantomAudience,
        typ: 'token-introspection+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['iat'],
      });
      const inner = payload['token_introspection'] as JWTPayload & { active?: unknown } | undefined;
      if (!inner || typeof inner !== 'object' || inner.active !== true) throw new Error('inactive');
      if (typeof inner.exp !== 'number' || inner.exp <= Date.now() / 1000) throw new Error('expired');
      return { claims: inner, tokenType: 'phantom' };
    }
    const { payload, protectedHeader } = await jwtVerify(token, await getJwks(), {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ['RS256'],
    });
    // Checked here rather than with jose's `typ` option, which is an exact match: RFC 9068
    // allows both `at+jwt` and the full `application/at+jwt`.
    if (!ACCESS_TOKEN_TYP.has((protectedHeader.typ ?? '').toLowerCase())) throw new Error('typ');
    return { claims: payload, tokenType: 'at+jwt' };
  };

  /** Discovery is read lazily (the IdP may start after the API) and cached; a failure is retried next time. */
  const getJwks = (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (jwks) return Promise.resolve(jwks);
    jwksPending ??= (async () => {
      const res = await doFetch(new URL('.well-known/openid-configuration', options.issuer.endsWith('/') ? options.issuer : `${options.issuer}/`));
      if (!res.ok) throw new Error(`discovery failed with HTTP ${res.status}`);
      const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri?: string };
      if (!jwksUri) throw new Error('discovery document has no jwks_uri');
      jwks = createRemoteJWKSet(new URL(jwksUri), { [customFetch]: (url, init) => doFetch(url, init) });
      return jwks;
    })().finally(() => { jwksPending = undefined; });
    return jwksPending;
  };

  const app = new Hono();

  app.use('/api/*', async (c, next) => {
    if (c.req.path === '/api/public') return next();
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(c.req.header('authorization') ?? '');
    if (!match?.[1]) return problem(401, 'Missing bearer token', 'invalid_token');
    try {
      claimsOf.set(c.req.raw, await verifyBearer(match[1]));
    } catch {
      // Never echo the token or the verification detail (it can quote claims).
      return problem(401, 'Invalid access token', 'invalid_token');
    }
    return next();
  });

  app.get('/api/public', (c) => c.json({ public: true }));

  app.get('/api/me', (c) => {
    const { sub, aud, exp, ...rest } = claims(c);
    return c.json({
      sub,
      scope: rest['scope'],
      clientId: rest['client_id'],
      aud,
      exp,
      tokenType: claimsOf.get(c.req.raw)?.tokenType,
      receivedCookieHeader: c.req.header('cookie') !== undefined,
      forwarded: {
        for: c.req.header('x-forwarded-for'),
        proto: c.req.header('x-forwarded-proto'),
        host: c.req.header('x-forwarded-host'),
      },
    });
  });

  app.get('/api/notes', (c) => c.json({ notes: notes.get(claims(c).sub ?? '') ?? [] }));

  app.post('/api/notes', async (c) => {
    let body: unknown;
    try { body = await c.req.json(); } catch { return problem(400, 'Body must be JSON', 'invalid_request'); }
    const text = (body as { text?: unknown } | null)?.text;
    if (typeof text !== 'string' || text.length < 1 || text.length > 1000) {
      return problem(400, 'text must be a string of 1 to 1000 characters', 'invalid_request');
    }
    const sub = claims(c).sub ?? '';
    const note: Note = { id: crypto.randomUUID(), text, createdAt: new Date().toISOString() };
    notes.set(sub, [...(notes.get(sub) ?? []), note]);
    return c.json(note, 201);
  });

  app.post('/api/echo', async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': c.req.header('content-type') ?? 'application/octet-stream',
        'x-echo-length': String(body.byteLength),
      },
    });
  });

  app.get('/api/large', (c) => {
    const raw = c.req.query('bytes');
    const bytes = raw === undefined ? 1024 * 1024 : Number(raw);
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_LARGE_BYTES) {
      return problem(400, `bytes must be an integer in 0..${MAX_LARGE_BYTES}`, 'invalid_request');
    }
    return new Response(streamOfA(bytes), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    });
  });

  // For each `?key=`, distrusts the first access token it sees (401, as an API would for a token it
  // has just revoked) and accepts any other: the BFF must refresh once and retry once (GET/HEAD only).
  const distrusted = new Map<string, string>();
  app.on(['GET', 'POST'], '/api/401-once', (c) => {
    const key = c.req.query('key') ?? '';
    const token = c.req.header('authorization') ?? '';
    if (!distrusted.has(key)) distrusted.set(key, token);
    if (distrusted.get(key) === token) return problem(401, 'Token not accepted', 'invalid_token');
    return c.json({ sub: claims(c).sub, accepted: true });
  });

  app.get('/api/redirect', () => new Response(null, { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));

  app.get('/api/set-cookie', (c) => {
    c.header('set-cookie', 'upstream=1; Path=/');
    return c.json({ ok: true });
  });

  app.get('/api/status/:code', (c) => {
    const code = Number(c.req.param('code'));
    if (!Number.isInteger(code) || code < 200 || code > 599) {
      return problem(400, 'code must be 200..599', 'invalid_request');
    }
    // 204/205/304 must not carry a body.
    const body = [204, 205, 304].includes(code) ? null : JSON.stringify({ status: code });
    return new Response(body, { status: code, headers: body ? { 'content-type': 'application/json' } : {} });
  });

  app.notFound(() => problem(404, 'Not found', 'not_found'));
  return app;
}

/** Starts the example API on 127.0.0.1, recording each request before any auth runs. */
export async function startExampleApi(options: ExampleApiOptions): Promise<ExampleApi> {
  const app = createExampleApiApp({ issuer: options.issuer, audience: options.audience, ...(options.phantomAudience ? { phantomAudience: options.phantomAudience } : {}) });
  const requests: RecordedRequest[] = [];
  // overrideGlobalObjects: false, so starting this in a test process leaves global Request/Response alone.
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers });
    void listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    // Truncate in place so callers holding `api.requests` see the reset.
    resetRequests: () => { requests.length = 0; },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };
}
