/**
 * Local development OpenID Provider (oidc-provider) bound to 127.0.0.1.
 *
 * Used by `dev/start.ts` and the integration tests. It replaces oidc-provider's
 * devInteractions (which accept any login) with a small login handler that checks the dev
 * passwords, and it auto-consents, so a login is: authorize → form → redirect back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import { findAccount, renderErrorPage, renderLoggedOutPage, renderLoginPage, renderLogoutPage, sendPage, verifyPassword } from './accounts.js';

/** A confidential client registered at the dev IdP. */
export interface DevIdpClient { clientId: string; clientSecret: string; redirectUris: string[]; postLogoutRedirectUris: string[]; }

/** Options for {@link startDevIdp}. */
export interface DevIdpOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  clients: DevIdpClient[];
  /** RFC 8707 resource indicator of the example API; requesting it yields an RS256 `at+jwt` with `aud` = resource. */
  resource?: string;
  /** Space-separated scopes of that resource server. Default `notes:read notes:write`. */
  resourceScopes?: string;
  /** Access token lifetime. Default 300. */
  accessTokenTtlSeconds?: number;
  /** Rotate refresh tokens on every use (enables reuse detection). Default false. */
  rotateRefreshTokens?: boolean;
  /** Refresh token lifetime. Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /** Pads every access token with a claim of this many characters (tests of large tokens and cookie chunking). Default none. */
  accessTokenPaddingBytes?: number;
  /**
   * RFC 9701 signed introspection responses (advertised as `introspection_signing_alg_values_supported`).
   * false: JSON introspection only, as many IdPs (phantom routes' fallback mode). Default true.
   */
  jwtIntrospection?: boolean;
}

/** A running dev IdP. */
export interface DevIdp {
  /** `http://127.0.0.1:<port>` */
  issuer: string;
  port: number;
  /** The oidc-provider instance, for tests. */
  provider: Provider;
  /** Number of POSTs to the token endpoint since start or {@link DevIdp.resetHits}. */
  tokenEndpointHits(): number;
  /** Number of requests (any method) to a pathname, e.g. `/token/revocation`, since start or {@link DevIdp.resetHits}. */
  hits(path: string): number;
  resetHits(): void;
  /** Introspects a token with the first client's credentials (plain JSON response); not counted in {@link DevIdp.hits}. */
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>;
  /**
   * Invalidates one opaque access token and nothing else (an admin action, or an IdP whose
   * RFC 7009 revocation of an access token keeps the grant). oidc-provider's own revocation
   * endpoint revokes the whole grant, refresh token included. Returns whether the token existed.
   */
  revokeAccessTokenOnly(token: string): Promise<boolean>;
  close(): Promise<void>;
}

const DAY = 24 * 60 * 60;
const MAX_FORM_BYTES = 16 * 1024;
const HELPER_HEADER = 'x-dev-idp-helper';
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * Per-provider in-memory storage. Writing our own (instead of the built-in adapter) keeps
 * several IdPs in one test process isolated, avoids the built-in LRU's 1000-entry eviction,
 * and avoids its startup warning.
 */
function memoryAdapter(): (model: string) => Adapter {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const grants = new Map<string, Set<string>>();
  const uids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  };
  return (model) => {
    const key = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        entries.set(key(id), { payload, expiresAt });
        if (model === 'Session' && payload.uid) uids.set(payload.uid, id);
        if (payload.userCode) userCodes.set(payload.userCode, id);
        if (GRANTABLE.has(model) && payload.grantId) {
          const members = grants.get(payload.grantId) ?? new Set<string>();
          grants.set(payload.grantId, members.add(key(id)));
        }
      },
      async find(id) { return live(key(id)); },
      async findByUid(uid) { const id = uids.get(uid); return id ? live(key(id)) : undefined; },
      async findByUserCode(code) { const id = userCodes.get(code); return id ? live(key(id)) : undefined; },
      async consume(id) {
        const payload = live(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) { entries.delete(key(id)); },
      async revokeByGrantId(grantId) {
        for (const member of grants.get(grantId) ?? []) entries.delete(member);
        grants.delete(grantId);
      },
    };
  };
}

/** Reads a small urlencoded form body; larger bodies are refused rather than buffered. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new errors.InvalidRequest('form body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Handles `/interaction/{uid}[/login|/confirm|/abort]`: the login form with a real password
 * check, and automatic consent (a dev IdP has no third-party clients to warn about).
 */
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const [, , uid = '', action = ''] = path.split('/');
  const fail = (description: string): void => sendPage(res, 400, renderErrorPage({ error: 'invalid_request', error_description: description }));
  // A missing/expired interaction cookie, or a stale tab's uid: the user must restart at the client.
  const details = await provider.interactionDetails(req, res).catch(() => undefined);
  if (!details || details.uid !== uid) { fail('interaction not found or expired; start the sign-in again'); return; }
  const { prompt, params, session } = details;
  const clientId = typeof params['client_id'] === 'string' ? params['client_id'] : undefined;

  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    const formAction = `/interaction/${encodeURIComponent(uid)}/login`;
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const login = form.get('login') ?? '';
      const account = verifyPassword(login, form.get('password') ?? '');
      if (!account) {
        sendPage(res, 200, renderLoginPage({ action: formAction, clientId, login, error: 'Invalid username or password.' }));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    sendPage(res, 200, renderLoginPage({ action: formAction, clientId }));
    return;
  }
  if (prompt.name === 'consent' && session && clientId) {
    // Auto-consent on GET or on POST /confirm: grant exactly what the provider reports missing.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId });
    if (!grant) throw new errors.InvalidRequest('grant not found');
    const missing = prompt.details as {
      missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  fail(`unsupported prompt ${prompt.name}`);
}

/** Builds the provider configuration (see the module comment for the choices). */
async function buildConfiguration(options: DevIdpOptions): Promise<Configuration> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
  const accessTokenTTL = options.accessTokenTtlSeconds ?? 300;
  const refreshTtl = options.refreshTokenTtlSeconds ?? 14 * DAY;
  const resourceScopes = options.resourceScopes ?? 'notes:read notes:write';
  const { resource } = options;
  // Only the caller's own tokens may be introspected or revoked.
  const ownToken = (_ctx: unknown, client: { clientId: string }, token: { clientId?: string | undefined }): boolean => token.clientId === client.clientId;

  return {
    adapter: memoryAdapter(),
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      // RFC 9701: introspection answers this client with a signed JWT when asked (Accept:
      // application/token-introspection+jwt), as the BFF's phantom routes do; JSON otherwise.
      ...(options.jwtIntrospection ?? true ? { introspection_signed_response_alg: 'RS256' } : {}),
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount,
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'profile', 'email', 'offline_access', ...resourceScopes.split(' ').filter(Boolean)],
    conformIdTokenClaims: false,
    clientBasedCORS: () => false,
    pkce: { required: () => true },
    // Refresh tokens always, without the offline_access + prompt=consent dance (see toolchain.md).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: options.rotateRefreshTokens ?? false,
    // Large tokens, as some IdPs issue with many roles or groups.
    ...(options.accessTokenPaddingBytes ? { extraTokenClaims: async () => ({ padding: 'x'.repeat(options.accessTokenPaddingBytes!) }) } : {}),
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: refreshTtl,
      Interaction: 600,
      Session: 14 * DAY,
      Grant: Math.max(refreshTtl, 14 * DAY),
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true, allowedPolicy: ownToken },
      introspection: { enabled: true, allowedPolicy: ownToken },
      jwtIntrospection: { enabled: options.jwtIntrospection ?? true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => { ctx.type = 'html'; ctx.body = renderLogoutPage(form); },
        postLogoutSuccessSource: (ctx) => { ctx.type = 'html'; ctx.body = renderLoggedOutPage(); },
      },
      resourceIndicators: {
        enabled: resource !== undefined,
        // No implicit audience: only a request that names the resource gets a JWT for it.
        defaultResource: (_ctx, _client, oneOf) => oneOf,
        // Refresh/code exchanges without `resource` reuse the granted one, so refreshed tokens stay JWTs.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return { scope: resourceScopes, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    renderError: (ctx, out) => { ctx.type = 'html'; ctx.body = renderErrorPage({ ...out }); },
  };
}

/**
 * Starts the dev IdP: listens first (so port 0 resolves to the real port that goes into
 * the issuer), then builds the provider with that issuer.
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  if (options.clients.length === 0) throw new Error('startDevIdp: at least one client is required');
  const counts = new Map<string, number>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    // Split rather than `new URL(req.url, base)`: a path like `//x` would parse as a host.
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = `${req.method ?? 'GET'} ${path}`;
    // The introspect() helper's own calls are not counted, so tests can assert the BFF's traffic.
    if (req.headers[HELPER_HEADER] === undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!handler) { res.writeHead(503).end(); return; }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  let provider: Provider;
  try {
    provider = new Provider(issuer, await buildConfiguration(options));
  } catch (err) {
    server.close();
    throw err;
  }
  provider.proxy = false;
  const callback = provider.callback();
  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith('/interaction/')) { void callback(req, res); return; }
    handleInteraction(provider, req, res, path).catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      const known = err instanceof errors.OIDCProviderError;
      sendPage(res, known ? err.statusCode : 500, renderErrorPage({
        error: known ? err.error : 'server_error',
        error_description: known ? err.error_description : 'unexpected error',
      }));
    });
  };

  const first = options.clients[0]!;
  const basic = Buffer.from(`${encodeURIComponent(first.clientId)}:${encodeURIComponent(first.clientSecret)}`).toString('base64');
  const sum = (predicate: (key: string) => boolean): number =>
    [...counts].reduce((total, [key, n]) => (predicate(key) ? total + n : total), 0);

  return {
    issuer,
    port,
    provider,
    tokenEndpointHits: () => counts.get('POST /token') ?? 0,
    hits: (path) => sum((key) => key.slice(key.indexOf(' ') + 1) === path),
    resetHits: () => counts.clear(),
    async introspect(token) {
      const response = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', [HELPER_HEADER]: '1' },
        body: new URLSearchParams({ token }),
      });
      if (!response.ok) throw new Error(`introspection failed with HTTP ${response.status}`);
      return (await response.json()) as { active: boolean; [k: string]: unknown };
    },
    async revokeAccessTokenOnly(token) {
      const accessToken = await provider.AccessToken.find(token);
      if (!accessToken) return false;
      await accessToken.destroy();
      return true;
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }),
  };
}
