/**
 * A scriptable hostile OpenID Provider for the security suites, and the small
 * harness that points a real BFF (on Node) at it.
 *
 * By default the provider is a correct, minimal OP for the BFF's code flow:
 * discovery, `/authorize` (no login page: it redirects straight back with a
 * code), `/token` (client_secret_basic and PKCE S256 checked), `/jwks`,
 * `/userinfo`, `/revoke`, `/logout`. Tests then change `script` (or the
 * signing keys) so that the next responses misbehave: wrong or missing ID
 * token claims, forged signatures, rotated keys, a lying discovery document,
 * HTML, broken, huge or never-ending token responses.
 *
 * Everything listens on 127.0.0.1, port 0. Nothing here prints a token or a
 * secret; {@link HostileIdp.issuedSecrets} exists so tests can assert that
 * none of them leaks into the BFF's logs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';
import { expect } from 'vitest';
import { startNodeServer, type RunningNodeServer } from '../../src/node.js';
import type { TestBrowser } from './browser.js';
import { CSRF, recordingLogger } from './harness.js';
import { freePort } from './ports.js';

/** Marks an ID token claim as omitted. */
export const OMIT: unique symbol = Symbol('omit');
/** A claim override: a value to use instead of the correct one, or {@link OMIT}. */
export type ClaimOverride<T> = T | typeof OMIT;

/** How the next ID tokens differ from correct ones (an absent key keeps the correct value). */
export interface IdTokenScript {
  iss?: ClaimOverride<string>;
  /** A string, an array, or {@link OMIT}. */
  aud?: ClaimOverride<string | string[]>;
  /** An audience appended to `aud` (which becomes an array). */
  extraAudience?: string;
  azp?: ClaimOverride<string>;
  sub?: ClaimOverride<unknown>;
  /** Default: the nonce of the authorization request. */
  nonce?: ClaimOverride<string>;
  /** Absolute `iat` (epoch seconds), or omitted. Default: the IdP's clock. */
  iat?: ClaimOverride<number>;
  /** Absolute `exp` (epoch seconds), or omitted. Default: `iat` + {@link IdTokenScript.expiresIn}. */
  exp?: ClaimOverride<number>;
  /** Lifetime added to `iat` for `exp`; negative values make tokens that expired already. Default 300. */
  expiresIn?: number;
  /** The IdP's clock is off by this many seconds (shifts `iat`, and so `exp`). */
  skewSeconds?: number;
  /** More claims, merged last. */
  extraClaims?: Record<string, unknown>;
}

/**
 * How ID tokens are signed:
 * - `rs256`: correctly, with the current signing key (a `kid` header when the key has one);
 * - `none`: unsigned (`header.payload.`, RFC 7519 §6);
 * - `hs256-client-secret`: HMAC with the client secret (symmetric, not the pinned algorithm);
 * - `hs256-public-key`: HMAC keyed with the published RSA key's SPKI PEM (the classic algorithm confusion);
 * - `foreign-key`: RS256 by a key that is not in the JWKS, under the published key's `kid`;
 * - `unknown-kid`: RS256 by an unpublished key, under a fresh random `kid` every time.
 */
export type SigningMode = 'rs256' | 'none' | 'hs256-client-secret' | 'hs256-public-key' | 'foreign-key' | 'unknown-kid';

/**
 * How the token endpoint answers (after checking the request as usual):
 * - `ok`: a correct JSON token response;
 * - `html-200` / `html-502`: an HTML error page with that status;
 * - `broken-json`: 200 `application/json` with a truncated JSON text;
 * - `huge`: 200, a valid token response padded with an extra member to 5 MiB, streamed (chunked, no Content-Length);
 * - `huge-declared`: the same with `Content-Length: 5242880`;
 * - `stall`: never answers (no status line) until the IdP is closed;
 * - `stall-after-headers`: sends 200 headers and half a JSON object, then nothing.
 */
export type TokenResponseMode = 'ok' | 'html-200' | 'html-502' | 'broken-json' | 'huge' | 'huge-declared' | 'stall' | 'stall-after-headers';

/** How the discovery document is served: correctly, as an HTML page, or never. */
export type DiscoveryMode = 'ok' | 'html-200' | 'stall';

/** The mutable knobs of a {@link HostileIdp}; `reset()` restores every default. */
export interface Script {
  /** The `issuer` the discovery document claims. Default: the real one. */
  discoveryIssuer: string | undefined;
  discovery: DiscoveryMode;
  idToken: IdTokenScript;
  signing: SigningMode;
  tokenResponse: TokenResponseMode;
}

/** A running hostile OP. */
export interface HostileIdp {
  /** `http://127.0.0.1:<port>` */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Requests by pathname (any method), e.g. `/token`, `/jwks`; known paths start at 0. */
  hits: Record<string, number>;
  /** Knobs for the next responses. */
  script: Script;
  /** Why the IdP refused requests from the BFF (wrong client auth, PKCE, redirect URI…): empty when the BFF behaved. */
  refusals: string[];
  /** The `kid` of the key signing correct ID tokens now (undefined for a key without kid). */
  currentKid(): string | undefined;
  /** Publishes a new RSA key with a new `kid` and signs with it from now on; the old key stays published unless `dropOld`. */
  rotateSigningKey(options?: { dropOld?: boolean }): Promise<string>;
  /** Replaces the JWKS by one key without `kid`, and signs ID tokens with it, without a `kid` header. */
  useSingleKeyWithoutKid(): Promise<void>;
  /** The access token of the last correct token response, if any (compare it; never print it). */
  lastAccessToken(): string | undefined;
  /** Every token issued and the client secret, for "never leaks" assertions (never print them). */
  issuedSecrets(): string[];
  /** Token requests still waiting for an answer (stalled). */
  pendingResponses(): number;
  /** Restores the default script, the original signing key and JWKS, and zeroes `hits` and `refusals`. */
  reset(): void;
  close(): Promise<void>;
}

/** Options of {@link startHostileIdp}. */
export interface HostileIdpOptions {
  clientId?: string;
  clientSecret?: string;
}

/** The subject of every ID token the hostile IdP issues. */
export const HOSTILE_SUB = 'hacker-test-user';
const KNOWN_PATHS = ['/.well-known/openid-configuration', '/jwks', '/authorize', '/token', '/userinfo', '/revoke', '/logout'];
const MAX_FORM_BYTES = 64 * 1024;
const HUGE_BYTES = 5 * 1024 * 1024;
const CODE_TTL_MS = 60_000;

interface SigningKey {
  kid: string | undefined;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  codeChallenge: string;
  scope: string;
  expiresAt: number;
}

const b64url = (input: Buffer | string): string => Buffer.from(input).toString('base64url');
const randomId = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/**
 * RSA key pairs, generated once per process and shared by every hostile IdP
 * in it (2048-bit generation takes 100-500 ms; each IdP still gets its own
 * kids). Index 0 signs by default, 1 forges, the next ones serve rotations.
 */
const keyPairs: Promise<CryptoKeyPair>[] = [];
function keyPair(index: number): Promise<CryptoKeyPair> {
  return (keyPairs[index] ??= generateKeyPair('RS256', { extractable: true }));
}

async function newKey(index: number, kid: string | undefined): Promise<SigningKey> {
  const { privateKey, publicKey } = await keyPair(index);
  const jwk = await exportJWK(publicKey);
  const publicJwk: JWK = { ...jwk, use: 'sig', alg: 'RS256', ...(kid === undefined ? {} : { kid }) };
  return { kid, privateKey, publicKey, publicJwk };
}

function defaultScript(): Script {
  return { discoveryIssuer: undefined, discovery: 'ok', idToken: {}, signing: 'rs256', tokenResponse: 'ok' };
}

function send(res: ServerResponse, status: number, body: string, contentType: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), 'application/json', extra);
}

const HTML_ERROR_PAGE = '<!doctype html><html><head><title>Bad Gateway</title></head><body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Decodes `client_secret_basic` credentials (RFC 6749 §2.3.1: form-urlencoded id and secret). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const unform = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
  try {
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** Starts a hostile OP on 127.0.0.1 (port 0). */
export async function startHostileIdp(options: HostileIdpOptions = {}): Promise<HostileIdp> {
  const clientId = options.clientId ?? 'hostile-idp-client';
  const clientSecret = options.clientSecret ?? randomId(32);
  const [originalKey, foreignKey] = await Promise.all([
    newKey(0, `k-${randomId(6)}`),
    /** An RSA key never published: signs forged ID tokens. */
    newKey(1, undefined),
  ]);
  let nextKeyPair = 2;

  const script: Script = defaultScript();
  const hits: Record<string, number> = {};
  const refusals: string[] = [];
  const codes = new Map<string, IssuedCode>();
  const refreshTokens = new Map<string, { scope: string }>();
  const issued: string[] = [clientSecret];
  const pending = new Set<ServerResponse>();
  let signingKey = originalKey;
  let publishedKeys: SigningKey[] = [originalKey];
  let lastAccessToken: string | undefined;
  let issuer = '';

  const zeroHits = () => {
    for (const key of Object.keys(hits)) delete hits[key];
    for (const path of KNOWN_PATHS) hits[path] = 0;
  };
  zeroHits();

  const refuse = (res: ServerResponse, status: number, error: string, reason: string): void => {
    refusals.push(reason);
    sendJson(res, status, { error, error_description: reason });
  };

  const discoveryDocument = () => ({
    issuer: script.discoveryIssuer ?? issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    revocation_endpoint: `${issuer}/revoke`,
    end_session_endpoint: `${issuer}/logout`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic'],
    authorization_response_iss_parameter_supported: true,
    code_challenge_methods_supported: ['S256'],
  });

  const idTokenClaims = (nonce: string | undefined): Record<string, unknown> => {
    const s = script.idToken;
    const iat = Math.floor(Date.now() / 1000) + (s.skewSeconds ?? 0);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: HOSTILE_SUB,
      aud: clientId,
      iat,
      exp: iat + (s.expiresIn ?? 300),
      name: 'Hacker Test User',
    };
    if (nonce !== undefined) claims.nonce = nonce;
    for (const name of ['iss', 'aud', 'azp', 'sub', 'nonce', 'iat', 'exp'] as const) {
      if (!(name in s)) continue;
      const value = s[name];
      if (value === OMIT) delete claims[name];
      else claims[name] = value;
    }
    if (s.extraAudience !== undefined) {
      const aud = claims.aud;
      claims.aud = [...(Array.isArray(aud) ? aud : aud === undefined ? [] : [aud]), s.extraAudience];
    }
    return { ...claims, ...s.extraClaims };
  };

  const signIdToken = async (claims: Record<string, unknown>): Promise<string> => {
    switch (script.signing) {
      case 'none':
        return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
      case 'hs256-client-secret':
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(clientSecret));
      case 'hs256-public-key': {
        const pem = await exportSPKI(signingKey.publicKey);
        const header = signingKey.kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid: signingKey.kid };
        return new SignJWT(claims).setProtectedHeader(header).sign(new TextEncoder().encode(pem));
      }
      case 'foreign-key': {
        const header = signingKey.kid === undefined ? { alg: 'RS256' } : { alg: 'RS256', kid: signingKey.kid };
        return new SignJWT(claims).setProtectedHeader(header).sign(foreignKey.privateKey);
      }
      case 'unknown-kid':
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: `unknown-${randomId(8)}` }).sign(foreignKey.privateKey);
      case 'rs256': {
        const header = signingKey.kid === undefined ? { alg: 'RS256' } : { alg: 'RS256', kid: signingKey.kid };
        return new SignJWT(claims).setProtectedHeader(header).sign(signingKey.privateKey);
      }
    }
  };

  /** A token response for an accepted grant, or the scripted misbehaviour. */
  const answerTokens = async (res: ServerResponse, scope: string, nonce: string | undefined, withIdToken: boolean): Promise<void> => {
    const mode = script.tokenResponse;
    if (mode === 'stall') {
      pending.add(res);
      res.once('close', () => pending.delete(res));
      return;
    }
    if (mode === 'stall-after-headers') {
      pending.add(res);
      res.once('close', () => pending.delete(res));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.write('{"access_token":"');
      return;
    }
    if (mode === 'html-200' || mode === 'html-502') {
      send(res, mode === 'html-200' ? 200 : 502, HTML_ERROR_PAGE, 'text/html; charset=utf-8');
      return;
    }
    const accessToken = randomId(32);
    const refreshToken = randomId(32);
    refreshTokens.set(refreshToken, { scope });
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: 300, refresh_token: refreshToken, scope };
    issued.push(accessToken, refreshToken);
    if (withIdToken) {
      body.id_token = await signIdToken(idTokenClaims(nonce));
      issued.push(body.id_token as string);
    }
    if (mode === 'broken-json') {
      send(res, 200, JSON.stringify(body).slice(0, 40), 'application/json');
      return;
    }
    if (mode === 'huge' || mode === 'huge-declared') {
      const padded = JSON.stringify({ ...body, padding: '' });
      const text = `${padded.slice(0, -3)}"${'x'.repeat(HUGE_BYTES - padded.length)}"}`;
      // writeHead without a length makes Node stream the body chunked.
      send(res, 200, text, 'application/json', mode === 'huge-declared' ? { 'content-length': String(Buffer.byteLength(text)) } : {});
      return;
    }
    lastAccessToken = accessToken;
    sendJson(res, 200, body, { pragma: 'no-cache' });
  };

  const handleAuthorize = (url: URL, res: ServerResponse): void => {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    const state = q.get('state');
    const challenge = q.get('code_challenge');
    let problem: string | undefined;
    if (q.get('client_id') !== clientId) problem = 'authorize: unknown client_id';
    else if (q.get('response_type') !== 'code') problem = 'authorize: response_type is not code';
    else if (!redirectUri || !/^https?:\/\//.test(redirectUri)) problem = 'authorize: missing or invalid redirect_uri';
    else if (!state) problem = 'authorize: missing state';
    else if (!challenge || q.get('code_challenge_method') !== 'S256') problem = 'authorize: PKCE S256 missing';
    if (problem || !redirectUri || !challenge) {
      refusals.push(problem ?? 'authorize: invalid request');
      send(res, 400, '<!doctype html><p>invalid authorization request</p>', 'text/html');
      return;
    }
    const code = randomId(32);
    codes.set(code, {
      clientId,
      redirectUri,
      nonce: q.get('nonce') ?? undefined,
      codeChallenge: challenge,
      scope: q.get('scope') ?? 'openid',
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', state!);
    back.searchParams.set('iss', issuer);
    res.writeHead(302, { location: back.href, 'cache-control': 'no-store' });
    res.end();
  };

  const handleToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return refuse(res, 405, 'invalid_request', 'token: not a POST');
    const credentials = basicCredentials(req.headers.authorization);
    if (!credentials || credentials.id !== clientId || credentials.secret !== clientSecret) {
      return refuse(res, 401, 'invalid_client', 'token: client_secret_basic authentication failed');
    }
    const form = new URLSearchParams(await readBody(req));
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const entry = codes.get(code);
      codes.delete(code);
      if (!entry || entry.expiresAt < Date.now()) return refuse(res, 400, 'invalid_grant', 'token: unknown, used or expired code');
      if (entry.clientId !== credentials.id) return refuse(res, 400, 'invalid_grant', 'token: code issued to another client');
      if (form.get('redirect_uri') !== entry.redirectUri) return refuse(res, 400, 'invalid_grant', 'token: redirect_uri differs from the authorization request');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== entry.codeChallenge) {
        return refuse(res, 400, 'invalid_grant', 'token: PKCE verification failed');
      }
      return answerTokens(res, entry.scope, entry.nonce, true);
    }
    if (grantType === 'refresh_token') {
      const entry = refreshTokens.get(form.get('refresh_token') ?? '');
      if (!entry) return refuse(res, 400, 'invalid_grant', 'token: unknown refresh token');
      return answerTokens(res, entry.scope, undefined, true);
    }
    return refuse(res, 400, 'unsupported_grant_type', 'token: unsupported grant_type');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', issuer);
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        if (script.discovery === 'stall') {
          pending.add(res);
          res.once('close', () => pending.delete(res));
          return;
        }
        if (script.discovery === 'html-200') return send(res, 200, HTML_ERROR_PAGE, 'text/html; charset=utf-8');
        return sendJson(res, 200, discoveryDocument());
      case '/jwks':
        return send(res, 200, JSON.stringify({ keys: publishedKeys.map((k) => k.publicJwk) }), 'application/jwk-set+json');
      case '/authorize':
        return handleAuthorize(url, res);
      case '/token':
        return handleToken(req, res);
      case '/userinfo':
        return sendJson(res, 200, { sub: HOSTILE_SUB, name: 'Hacker Test User' });
      case '/revoke':
        await readBody(req);
        res.writeHead(200, { 'cache-control': 'no-store' });
        return void res.end();
      case '/logout':
        return send(res, 200, '<!doctype html><p>signed out</p>', 'text/html');
      default:
        return sendJson(res, 404, { error: 'not_found' });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    clientId,
    clientSecret,
    hits,
    script,
    refusals,
    currentKid: () => signingKey.kid,
    async rotateSigningKey(rotateOptions = {}) {
      const key = await newKey(nextKeyPair++, `k-${randomId(6)}`);
      publishedKeys = rotateOptions.dropOld ? [key] : [key, ...publishedKeys];
      signingKey = key;
      return key.kid!;
    },
    async useSingleKeyWithoutKid() {
      const key = await newKey(nextKeyPair++, undefined);
      publishedKeys = [key];
      signingKey = key;
    },
    lastAccessToken: () => lastAccessToken,
    issuedSecrets: () => [...issued],
    pendingResponses: () => pending.size,
    reset() {
      Object.assign(script, defaultScript());
      signingKey = originalKey;
      publishedKeys = [originalKey];
      refusals.length = 0;
      zeroHits();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy();
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Polls `predicate` every 10 ms until it holds; throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A tiny upstream API that counts hits and answers 200 JSON. */
export interface CountingUpstream {
  url: string;
  hits: number;
  /** `Authorization` headers received, in order (compare them; never print them). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** Starts a {@link CountingUpstream} on 127.0.0.1 (port 0). */
export async function startCountingUpstream(): Promise<CountingUpstream> {
  const upstream: CountingUpstream = { url: '', hits: 0, authorizations: [], close: async () => undefined };
  const server = createServer((req, res) => {
    upstream.hits++;
    upstream.authorizations.push(req.headers.authorization);
    req.resume();
    sendJson(res, 200, { ok: true, path: new URL(req.url ?? '/', 'http://upstream').pathname });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return upstream;
}

/** A BFF on Node pointed at a hostile IdP, with a counting upstream and a recording logger. */
export interface BffUnderTest {
  /** Public URL (`http://localhost:<port>`). */
  url: string;
  server: RunningNodeServer;
  upstream: CountingUpstream;
  /** Every log line, as JSON text. */
  logs: string[];
  /** The configuration variables (contain secrets: never print them). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts a BFF with `startNodeServer` against `idp` (BFF_IDP_TIMEOUT_MS 800 unless overridden). */
export async function startBffAgainst(idp: HostileIdp, extraEnv: Record<string, string> = {}): Promise<BffUnderTest> {
  const upstream = await startCountingUpstream();
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const logger = recordingLogger();
  const env: Record<string, string> = {
    BFF_ISSUER: idp.issuer,
    BFF_CLIENT_ID: idp.clientId,
    BFF_CLIENT_SECRET: idp.clientSecret,
    BFF_PUBLIC_URL: url,
    BFF_SESSION_SECRET: randomId(32),
    BFF_ROUTES: JSON.stringify({ '/api': `${upstream.url}/api` }),
    BFF_IDP_TIMEOUT_MS: '800',
    // Many logins from 127.0.0.1 per file: the login rate limit is tested elsewhere.
    BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    ...extraEnv,
  };
  let server: RunningNodeServer;
  try {
    server = await startNodeServer({ env, port, deps: { logger } });
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    url,
    server,
    upstream,
    logs: logger.lines,
    env,
    close: async () => {
      await Promise.all([server.close(), upstream.close()]);
    },
  };
}

/** One login attempt: `/bff/login` → the IdP's `/authorize` → `/bff/callback`. */
export interface LoginAttempt {
  /** The last response (the callback's, or `/bff/login`'s when it did not send the browser to the IdP). */
  response: Response;
  status: number;
  location: string | null;
  /** Statuses of every response in the chain. */
  statuses: number[];
  /** Time the callback took (ms); the login's when the chain stopped there. */
  callbackMs: number;
  /** Whether `/bff/login` redirected to the IdP's authorization endpoint. */
  reachedIdp: boolean;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** Runs a login through the hostile IdP and stops at the BFF's final answer (not followed). */
export async function attemptLogin(browser: TestBrowser, bff: BffUnderTest, idp: HostileIdp): Promise<LoginAttempt> {
  const statuses: number[] = [];
  let started = performance.now();
  const login = await browser.fetch(`${bff.url}/bff/login`);
  statuses.push(login.status);
  await login.body?.cancel();
  const toIdp = login.headers.get('location');
  const reachedIdp = REDIRECT.has(login.status) && toIdp !== null && toIdp.startsWith(`${idp.issuer}/authorize?`);
  if (!reachedIdp) return { response: login, status: login.status, location: toIdp, statuses, callbackMs: performance.now() - started, reachedIdp };
  const authorize = await browser.fetch(toIdp!);
  statuses.push(authorize.status);
  await authorize.body?.cancel();
  const toCallback = authorize.headers.get('location');
  if (!REDIRECT.has(authorize.status) || !toCallback?.startsWith(`${bff.url}/bff/callback?`)) {
    throw new Error(`the hostile IdP did not redirect back to the callback (HTTP ${authorize.status}; refusals: ${idp.refusals.join('; ')})`);
  }
  started = performance.now();
  const callback = await browser.fetch(toCallback);
  const callbackMs = performance.now() - started;
  statuses.push(callback.status);
  await callback.body?.cancel();
  return { response: callback, status: callback.status, location: callback.headers.get('location'), statuses, callbackMs, reachedIdp };
}

/** Names of the session cookies (`__Host-bff-session` and its chunks) the browser holds for the BFF. */
export async function sessionCookieNames(browser: TestBrowser, bff: BffUnderTest): Promise<string[]> {
  return (await browser.cookies(bff.url)).map((c) => c.key).filter((k) => k === '__Host-bff-session' || k.startsWith('__Host-bff-session.'));
}

/** `GET /bff/session` as the SPA would call it. */
export async function sessionView(browser: TestBrowser, bff: BffUnderTest): Promise<Record<string, unknown>> {
  const res = await browser.fetch(`${bff.url}/bff/session`, { headers: CSRF });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** The secrets of the IdP and BFF that must never appear in a log line. */
function secretsOf(idp: HostileIdp, bff: BffUnderTest): string[] {
  return [...idp.issuedSecrets(), bff.env.BFF_SESSION_SECRET!];
}

/** Asserts that no token or secret appears in the BFF's logs, without ever printing one. */
export function expectNoSecretsInLogs(idp: HostileIdp, bff: BffUnderTest): void {
  const text = bff.logs.join('\n');
  const leaked = secretsOf(idp, bff).filter((secret) => text.includes(secret)).length;
  expect(leaked, 'tokens or secrets found in the BFF log').toBe(0);
}

/**
 * Asserts a refused login: a 302 to `/?bff_error=<code>` with no session
 * cookie, nothing usable afterwards (`/bff/session` unauthenticated, the
 * proxied API 401 `unauthenticated` without reaching the upstream: its hit
 * count does not move; suites reset it to 0 before each case), never a
 * 500 in the chain nor a crash in the log, no secret logged.
 */
export async function expectLoginRefused(attempt: LoginAttempt, code: 'login_failed' | 'idp_unavailable', ctx: { browser: TestBrowser; bff: BffUnderTest; idp: HostileIdp }): Promise<void> {
  const { browser, bff, idp } = ctx;
  const upstreamHits = bff.upstream.hits;
  expect(attempt.statuses.filter((s) => s >= 500)).toEqual([]);
  expect(attempt.status).toBe(302);
  expect(attempt.location).toBe(`${bff.url}/?bff_error=${code}`);
  expect(attempt.response.headers.getSetCookie().filter((l) => l.startsWith('__Host-bff-session') && !/Max-Age=0/i.test(l))).toEqual([]);
  expect(await sessionCookieNames(browser, bff)).toEqual([]);
  // Nor a login-transaction cookie: the callback consumed it (and /bff/login set none if it failed).
  expect((await browser.cookies(bff.url)).map((c) => c.key).filter((k) => k.startsWith('__Host-bff-'))).toEqual([]);
  expect(await sessionView(browser, bff)).toEqual({ authenticated: false });
  const api = await browser.fetch(`${bff.url}/api/x`, { headers: CSRF });
  expect(api.status).toBe(401);
  expect(((await api.json()) as { code?: string }).code).toBe('unauthenticated');
  expect(bff.upstream.hits).toBe(upstreamHits);
  expect(bff.logs.filter((l) => l.includes('"request.crashed"') || l.includes('"internal_error"'))).toEqual([]);
  expectNoSecretsInLogs(idp, bff);
}

/**
 * Asserts a successful login: a 302 to `/` with a session cookie, the
 * session names the hostile IdP's user, and a proxied call reaches the
 * upstream with the access token the IdP issued.
 */
export async function expectLoginSucceeded(attempt: LoginAttempt, ctx: { browser: TestBrowser; bff: BffUnderTest; idp: HostileIdp }): Promise<void> {
  const { browser, bff, idp } = ctx;
  expect(idp.refusals).toEqual([]);
  expect(attempt.status).toBe(302);
  expect(attempt.location).toBe(`${bff.url}/`);
  expect(await sessionCookieNames(browser, bff)).toContain('__Host-bff-session');
  const view = await sessionView(browser, bff);
  expect(view.authenticated).toBe(true);
  expect((view.user as { sub?: string } | undefined)?.sub).toBe(HOSTILE_SUB);
  const hitsBefore = bff.upstream.hits;
  const api = await browser.fetch(`${bff.url}/api/x`, { headers: CSRF });
  expect(api.status).toBe(200);
  await api.body?.cancel();
  expect(bff.upstream.hits).toBe(hitsBefore + 1);
  const sent = bff.upstream.authorizations.at(-1);
  expect(sent !== undefined && sent === `Bearer ${idp.lastAccessToken()}`, 'the upstream got the issued access token').toBe(true);
  expectNoSecretsInLogs(idp, bff);
}
