import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { BffError, IdpAnswerError, translateIdpError } from '../errors.js';
import type { LogFields, LogLevel } from '../log.js';
import { chooseIntrospectionAlg, type Discovery, type OidcProvider } from '../oidc/discovery.js';
import type { Refresher } from '../session/refresh.js';
import type { SessionData } from '../session/session.js';
import { createPhantomTokens, grantedScopesInclude, introspectionResult, logPhantomMode, verifyIntrospectionJwt, type IntrospectionJwtExpectations } from './introspection.js';

const ISSUER = 'https://idp.example.com';
const CLIENT_ID = 'spa-bff';
const SECRET = 'client-secret-value';
const NOW = 1_800_000_000;
const KID = 'key-1';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let idpKey: KeyPair;
let otherKey: KeyPair;
let psKey: KeyPair;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  idpKey = await generateKeyPair('RS256');
  otherKey = await generateKeyPair('RS256');
  psKey = await generateKeyPair('PS256');
  jwks = { keys: [{ ...(await exportJWK(idpKey.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
});

const expected = (overrides: Partial<IntrospectionJwtExpectations> = {}): IntrospectionJwtExpectations => ({ issuer: ISSUER, clientId: CLIENT_ID, algorithm: 'RS256', nowSeconds: NOW, ...overrides });

interface SignOptions {
  key?: CryptoKey;
  alg?: string;
  typ?: string | null;
  claims?: JWTPayload;
  introspection?: Record<string, unknown> | null;
}

/** An RFC 9701 response as oidc-provider signs it (no top-level exp or sub), with knobs to break it. */
async function signResponse(options: SignOptions = {}): Promise<string> {
  const introspection = options.introspection === undefined ? { active: true, sub: 'alice', client_id: CLIENT_ID, scope: 'openid notes:read', exp: NOW + 300, iat: NOW - 10 } : options.introspection;
  const payload: JWTPayload = { iss: ISSUER, aud: CLIENT_ID, iat: NOW, ...(introspection === null ? {} : { token_introspection: introspection }), ...options.claims };
  const header: { alg: string; kid: string; typ?: string } = { alg: options.alg ?? 'RS256', kid: KID };
  if (options.typ !== null) header.typ = options.typ ?? 'token-introspection+jwt';
  return new SignJWT(payload).setProtectedHeader(header).sign(options.key ?? idpKey.privateKey);
}

const verify = (jwt: string, overrides: Partial<IntrospectionJwtExpectations> = {}) => verifyIntrospectionJwt(jwt, createLocalJWKSet(jwks), expected(overrides));

describe('verifyIntrospectionJwt', () => {
  it('accepts a well-formed response and keeps the JWT for the upstream', async () => {
    const jwt = await signResponse();
    expect(await verify(jwt)).toEqual({ active: true, jwt, scope: 'openid notes:read', exp: NOW + 300 });
  });

  it('accepts the media-type spelling of typ (application/token-introspection+jwt)', async () => {
    expect((await verify(await signResponse({ typ: 'application/token-introspection+jwt' }))).active).toBe(true);
  });

  it('refuses a forged signature (another key under the IdP\'s kid)', async () => {
    await expect(verify(await signResponse({ key: otherKey.privateKey }))).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('refuses a response whose payload was altered after signing', async () => {
    const [header, , signature] = (await signResponse()).split('.');
    const altered = Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT_ID, iat: NOW, token_introspection: { active: true, sub: 'mallory', exp: NOW + 300 } })).toString('base64url');
    await expect(verify(`${header}.${altered}.${signature}`)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('refuses an algorithm other than the pinned one', async () => {
    await expect(verify(await signResponse({ alg: 'PS256', key: psKey.privateKey }))).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'token-introspection+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT_ID, iat: NOW, token_introspection: { active: true } })).toString('base64url')}.`;
    await expect(verify(unsigned)).rejects.toBeInstanceOf(Error);
  });

  it.each([
    ['wrong aud', { claims: { aud: 'another-client' } }, 'aud'],
    ['wrong iss', { claims: { iss: 'https://evil.example.com' } }, 'iss'],
    ['no iat', { claims: { iat: undefined } }, 'iat'],
    ['typ of an access token', { typ: 'at+jwt' }, 'typ'],
    ['typ JWT', { typ: 'JWT' }, 'typ'],
    ['no typ', { typ: null }, 'typ'],
  ] as const)('refuses %s', async (_name, options, claim) => {
    await expect(verify(await signResponse(options as SignOptions))).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim });
  });

  it('refuses a response JWT that has itself expired', async () => {
    await expect(verify(await signResponse({ claims: { exp: NOW - 60 } }))).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('an inactive token yields no JWT to forward', async () => {
    expect(await verify(await signResponse({ introspection: { active: false } }))).toEqual({ active: false, jwt: undefined, scope: undefined, exp: undefined });
  });

  it('a token past its exp is inactive even when the IdP says active', async () => {
    const result = await verify(await signResponse({ introspection: { active: true, sub: 'alice', exp: NOW } }));
    expect(result).toMatchObject({ active: false, jwt: undefined });
  });

  it('refuses a response without a token_introspection object or a boolean active', async () => {
    await expect(verify(await signResponse({ introspection: null }))).rejects.toBeInstanceOf(IdpAnswerError);
    await expect(verify(await signResponse({ introspection: { active: 'true' } }))).rejects.toBeInstanceOf(IdpAnswerError);
  });

  it('every refusal becomes idp_unavailable (fail closed), logged by code, never with token or claims', async () => {
    const jwt = await signResponse({ key: otherKey.privateKey });
    const error = await verify(jwt).catch((e: unknown) => e);
    const translated = translateIdpError(error, 'introspection');
    expect(translated).toMatchObject({ code: 'idp_unavailable', status: 503, retryAfter: 5 });
    expect(translated.logInfo).toBe('introspection: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const aud = translateIdpError(await verify(await signResponse({ claims: { aud: 'x' } })).catch((e: unknown) => e), 'introspection');
    expect(aud.logInfo).toBe('introspection: ERR_JWT_CLAIM_VALIDATION_FAILED (aud check_failed)');
  });
});

describe('introspectionResult and grantedScopesInclude', () => {
  it('normalises RFC 7662 claims', () => {
    expect(introspectionResult({ active: true, scope: 'a b', exp: NOW + 1 }, NOW, 'j')).toEqual({ active: true, jwt: 'j', scope: 'a b', exp: NOW + 1 });
    expect(introspectionResult({ active: true }, NOW, undefined)).toEqual({ active: true, jwt: undefined, scope: undefined, exp: undefined });
    expect(introspectionResult({ active: 'yes' }, NOW, 'j').active).toBe(false);
  });

  it('trusts only the introspection scope: absent means none', () => {
    expect(grantedScopesInclude('openid notes:read', ['notes:read'])).toBe(true);
    expect(grantedScopesInclude('openid notes:read', ['notes:read', 'notes:admin'])).toBe(false);
    expect(grantedScopesInclude(undefined, ['notes:read'])).toBe(false);
    expect(grantedScopesInclude(undefined, [])).toBe(true);
  });
});

describe('chooseIntrospectionAlg', () => {
  it('prefers RS256, else the first asymmetric one, else none (JSON fallback)', () => {
    expect(chooseIntrospectionAlg(['ES256', 'RS256'])).toBe('RS256');
    expect(chooseIntrospectionAlg(['HS256', 'ES256', 'PS256'])).toBe('ES256');
    expect(chooseIntrospectionAlg(['HS256'])).toBeUndefined();
    expect(chooseIntrospectionAlg(undefined)).toBeUndefined();
  });
});

/** The Authorization header openid-client's client_secret_basic sends (form-urlencoded id and secret). */
function openidClientBasic(): string {
  const headers = new Headers();
  client.ClientSecretBasic(SECRET)({ issuer: ISSUER }, { client_id: CLIENT_ID }, new URLSearchParams(), headers);
  return headers.get('authorization')!;
}

/** A fake IdP for the factory: an introspection endpoint over a token table, and a JWKS. */
function fakeIdp(options: { jwt?: boolean } = {}) {
  const tokens = new Map<string, { active: boolean; scope?: string; exp?: number }>();
  const calls: { url: string; accept: string | null; authorization: string | null; body: URLSearchParams }[] = [];
  let jwksCalls = 0;
  let down = false;
  let answerJsonAnyway = false;
  let now = NOW;
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (down) throw new TypeError('fetch failed');
    const url = String(input instanceof Request ? input.url : input);
    if (url === `${ISSUER}/jwks`) {
      jwksCalls++;
      return Response.json(jwks);
    }
    if (url === `${ISSUER}/token/introspection`) {
      const headers = new Headers(init?.headers);
      const body = new URLSearchParams(String(init?.body));
      calls.push({ url, accept: headers.get('accept'), authorization: headers.get('authorization'), body });
      const entry = tokens.get(body.get('token') ?? '');
      const claims = entry?.active ? { active: true, sub: 'alice', client_id: CLIENT_ID, scope: entry.scope, exp: entry.exp } : { active: false };
      if (headers.get('accept') === 'application/token-introspection+jwt' && !answerJsonAnyway) {
        const jwt = await new SignJWT({ iss: ISSUER, aud: CLIENT_ID, iat: now, token_introspection: claims }).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'token-introspection+jwt' }).sign(idpKey.privateKey);
        return new Response(jwt, { headers: { 'content-type': 'application/token-introspection+jwt; charset=utf-8' } });
      }
      return Response.json(claims);
    }
    return new Response('not found', { status: 404 });
  };
  const as: client.ServerMetadata = {
    issuer: ISSUER,
    token_endpoint: `${ISSUER}/token`,
    introspection_endpoint: `${ISSUER}/token/introspection`,
    jwks_uri: `${ISSUER}/jwks`,
    ...(options.jwt === false ? {} : { introspection_signing_alg_values_supported: ['RS256'] }),
  };
  const jwtAlg = options.jwt === false ? undefined : 'RS256';
  const clientAuth = client.ClientSecretBasic(SECRET);
  const config = new client.Configuration(as, CLIENT_ID, { client_secret: SECRET, ...(jwtAlg ? { introspection_signed_response_alg: jwtAlg } : {}) }, clientAuth);
  config[client.customFetch] = fetch as unknown as client.CustomFetch;
  const provider: OidcProvider = { config, supportsRevocation: false, supportsEndSession: false, supportsIntrospection: true, jwtIntrospectionAlg: jwtAlg, clientAuth };
  const discovery: Discovery = { get: async () => provider, status: () => ({ ready: true }) };
  return {
    tokens,
    calls,
    fetch,
    discovery,
    jwksCalls: () => jwksCalls,
    setDown: (value: boolean) => (down = value),
    answerJson: () => (answerJsonAnyway = true),
    clock: { nowSeconds: () => now, advance: (s: number) => (now += s) },
  };
}

function session(at: string, rt: string | null = 'refresh-1'): SessionData {
  return { at, atExp: NOW + 300, rt: rt ?? undefined, iss: ISSUER, sub: 'alice', aud: CLIENT_ID, exp: NOW + 3600, iat: NOW, sid: 'sid', seen: NOW } as unknown as SessionData;
}

function setup(options: { jwt?: boolean; cacheSeconds?: number; refresh?: (s: SessionData) => Promise<SessionData> } = {}) {
  const idp = fakeIdp(options);
  const config = parseConfig({
    BFF_ISSUER: ISSUER,
    BFF_CLIENT_ID: CLIENT_ID,
    BFF_CLIENT_SECRET: SECRET,
    BFF_PUBLIC_URL: 'https://app.example.com',
    BFF_SESSION_SECRET: 'x'.repeat(40),
    BFF_ROUTES: JSON.stringify({ '/api': { target: 'https://api.example.com', token: 'phantom' } }),
    BFF_INTROSPECTION_CACHE_SECONDS: String(options.cacheSeconds ?? 60),
  });
  let refreshes = 0;
  const refresher: Refresher = {
    isDue: () => false,
    refresh: async (s) => {
      refreshes++;
      if (options.refresh) return options.refresh(s);
      return { ...s, at: 'opaque-2' };
    },
  };
  const lines: string[] = [];
  const logger = { log: (level: LogLevel, event: string, fields?: LogFields) => void lines.push(JSON.stringify({ level, event, ...fields })) };
  const phantom = createPhantomTokens(config, idp.discovery, idp.fetch, idp.clock.nowSeconds, { refresher, logger });
  return { idp, phantom, refreshes: () => refreshes, lines, config };
}

describe('createPhantomTokens', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
    s.idp.tokens.set('opaque-1', { active: true, scope: 'openid notes:read', exp: NOW + 300 });
    s.idp.tokens.set('opaque-2', { active: true, scope: 'openid', exp: NOW + 300 });
  });

  it('asks for a signed response with the client authentication openid-client uses, and forwards the JWT', async () => {
    const result = await s.phantom.bearerFor(session('opaque-1'));
    expect(result).toMatchObject({ mode: 'jwt', scope: 'openid notes:read', cached: false });
    expect(result.bearer.split('.')).toHaveLength(3);
    expect(result.bearer).not.toContain('opaque-1');
    expect(s.idp.calls).toHaveLength(1);
    expect(s.idp.calls[0]).toMatchObject({ accept: 'application/token-introspection+jwt', authorization: openidClientBasic() });
    expect(Object.fromEntries(s.idp.calls[0]!.body)).toEqual({ token: 'opaque-1', token_type_hint: 'access_token' });
  });

  it('1,000 calls with one session cost one introspection; 50 concurrent ones share it', async () => {
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => s.phantom.bearerFor(session('opaque-1'))));
    expect(new Set(concurrent.map((r) => r.bearer)).size).toBe(1);
    for (let i = 0; i < 950; i++) expect((await s.phantom.bearerFor(session('opaque-1'))).cached).toBe(true);
    expect(s.idp.calls).toHaveLength(1);
    expect(s.idp.jwksCalls()).toBe(1);
  });

  it('introspects again once the cache period has passed', async () => {
    await s.phantom.bearerFor(session('opaque-1'));
    s.idp.clock.advance(59);
    await s.phantom.bearerFor(session('opaque-1'));
    expect(s.idp.calls).toHaveLength(1);
    s.idp.clock.advance(1);
    await s.phantom.bearerFor(session('opaque-1'));
    expect(s.idp.calls).toHaveLength(2);
  });

  it('with BFF_INTROSPECTION_CACHE_SECONDS=0 every call introspects', async () => {
    const uncached = setup({ cacheSeconds: 0 });
    uncached.idp.tokens.set('opaque-1', { active: true, exp: NOW + 300 });
    for (let i = 0; i < 3; i++) await uncached.phantom.bearerFor(session('opaque-1'));
    expect(uncached.idp.calls).toHaveLength(3);
  });

  it('an inactive token is refreshed once and the new token introspected; inactive results are not cached', async () => {
    const result = await s.phantom.bearerFor(session('revoked'));
    expect(s.refreshes()).toBe(1);
    expect(result.session.at).toBe('opaque-2');
    expect(result.scope).toBe('openid');
    expect(s.idp.calls.map((c) => c.body.get('token'))).toEqual(['revoked', 'opaque-2']);
    await s.phantom.introspect('revoked');
    expect(s.idp.calls).toHaveLength(3);
    expect(s.lines.some((l) => l.includes('"phantom.token_inactive"'))).toBe(true);
  });

  it('still inactive after the refresh → session_expired', async () => {
    const stuck = setup({ refresh: async (x) => ({ ...x, at: 'also-revoked' }) });
    await expect(stuck.phantom.bearerFor(session('revoked'))).rejects.toMatchObject({ code: 'session_expired' });
    expect(stuck.refreshes()).toBe(1);
  });

  it('a refused refresh → session_expired; no refresh token → session_expired without asking', async () => {
    const refused = setup({ refresh: async () => { throw new BffError('session_expired', { logInfo: 'refresh: invalid_grant' }); } });
    await expect(refused.phantom.bearerFor(session('revoked'))).rejects.toMatchObject({ code: 'session_expired' });
    await expect(s.phantom.bearerFor(session('revoked', null))).rejects.toMatchObject({ code: 'session_expired' });
    await expect(s.phantom.bearerFor(session('revoked'), { refreshIfInactive: false })).rejects.toMatchObject({ code: 'session_expired' });
    expect(s.refreshes()).toBe(0);
  });

  it('an unreachable IdP → idp_unavailable with Retry-After, and nothing cached', async () => {
    s.idp.setDown(true);
    await expect(s.phantom.bearerFor(session('opaque-1'))).rejects.toMatchObject({ code: 'idp_unavailable', retryAfter: 5 });
    s.idp.setDown(false);
    expect((await s.phantom.bearerFor(session('opaque-1'))).cached).toBe(false);
  });

  it('a JSON answer to a request for a signed one is refused, never downgraded to forwarding the opaque token', async () => {
    s.idp.answerJson();
    const error = await s.phantom.bearerFor(session('opaque-1')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'idp_unavailable' });
    expect((error as BffError).logInfo).toContain('not a signed introspection response');
  });

  it('fallback without signed introspection: JSON introspection through openid-client, the opaque token goes upstream once known active', async () => {
    const plain = setup({ jwt: false });
    plain.idp.tokens.set('opaque-1', { active: true, scope: 'openid notes:read', exp: NOW + 300 });
    const result = await plain.phantom.bearerFor(session('opaque-1'));
    expect(result).toMatchObject({ mode: 'json', bearer: 'opaque-1', scope: 'openid notes:read' });
    expect(plain.idp.calls[0]).toMatchObject({ accept: 'application/json', authorization: openidClientBasic() });
    await plain.phantom.bearerFor(session('opaque-1'));
    expect(plain.idp.calls).toHaveLength(1);
  });
});

describe('logPhantomMode', () => {
  const config = parseConfig({
    BFF_ISSUER: ISSUER,
    BFF_CLIENT_ID: CLIENT_ID,
    BFF_CLIENT_SECRET: SECRET,
    BFF_PUBLIC_URL: 'https://app.example.com',
    BFF_SESSION_SECRET: 'x'.repeat(40),
    BFF_ROUTES: JSON.stringify({ '/api': { target: 'https://api.example.com', token: 'phantom' }, '/other': 'https://other.example.com' }),
  });
  const provider = (overrides: Partial<OidcProvider>) => ({ supportsIntrospection: true, jwtIntrospectionAlg: 'RS256', ...overrides }) as OidcProvider;
  const logged = (cfg: typeof config, p: OidcProvider) => {
    const lines: { level: string; event: string; routes?: string }[] = [];
    logPhantomMode(cfg, p, { log: (level, event, fields) => void lines.push({ level, event, ...fields } as never) });
    return lines;
  };

  it('warns that phantom routes run in fallback mode when the IdP has only JSON introspection', () => {
    expect(logged(config, provider({ jwtIntrospectionAlg: undefined }))).toEqual([expect.objectContaining({ level: 'warn', event: 'phantom.fallback_json_introspection', routes: '/api' })]);
  });

  it('errors when the IdP has no introspection endpoint, and says which algorithm is used otherwise', () => {
    expect(logged(config, provider({ supportsIntrospection: false, jwtIntrospectionAlg: undefined }))[0]).toMatchObject({ level: 'error', event: 'phantom.no_introspection_endpoint' });
    expect(logged(config, provider({}))[0]).toMatchObject({ level: 'info', event: 'phantom.jwt_introspection' });
  });

  it('is silent without phantom routes', () => {
    const plain = parseConfig({ ...Object.fromEntries(Object.entries({ BFF_ISSUER: ISSUER, BFF_CLIENT_ID: CLIENT_ID, BFF_CLIENT_SECRET: SECRET, BFF_PUBLIC_URL: 'https://app.example.com', BFF_SESSION_SECRET: 'x'.repeat(40) })) });
    expect(logged(plain, provider({ jwtIntrospectionAlg: undefined }))).toEqual([]);
  });
});
