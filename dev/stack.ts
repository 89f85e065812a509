/**
 * The local stack on loopback: the dev IdP (oidc-provider), the example API
 * and the BFF, wired together. Used by `npm start` (fixed ports) and by the
 * integration tests (ephemeral ports, one stack per test file).
 */
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../src/config.js';
import type { BffDeps } from '../src/runtime.js';
import { createNodeBff, serveNode, type NodeFetchHandler, type RunningNodeServer } from '../src/node.js';
import { startExampleApi, type ExampleApi } from './api.js';
import { startDevIdp, type DevIdp, type DevIdpOptions } from './idp.js';

/** Options of {@link startDevStack}. */
export interface DevStackOptions {
  /** Ports; 0 (default) picks free ones. */
  bffPort?: number;
  apiPort?: number;
  idpPort?: number;
  /** Host name browsers use for the BFF (bound on 127.0.0.1 either way). @default "localhost" */
  publicHost?: string;
  /** Public URL browsers use, when it is not the BFF's own port (e.g. the Vite dev server proxying to it). */
  publicUrl?: string;
  /** Extra or overriding BFF environment variables. */
  env?: Record<string, string | undefined>;
  /** Dependencies for the BFF (fetch, clock, logger). */
  deps?: BffDeps;
  /** BFF_ROUTES as a function of the example API's URL. @default { "/api": api + "/api" } */
  apiRoutes?: (apiUrl: string) => Record<string, string | { target: string; methods?: string[] }>;
  /** Dev IdP knobs (token lifetimes, rotation). */
  idp?: Pick<DevIdpOptions, 'accessTokenTtlSeconds' | 'rotateRefreshTokens' | 'refreshTokenTtlSeconds' | 'accessTokenPaddingBytes'>;
}

/** A running local stack. */
export interface DevStack {
  idp: DevIdp;
  api: ExampleApi;
  bff: RunningNodeServer;
  /** Public URL of the BFF (what browsers use). */
  bffUrl: string;
  /** The environment the BFF was configured with (contains dev secrets: never print it). */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

/** The client id the dev IdP registers for the BFF. */
export const DEV_CLIENT_ID = 'hono-bff-dev';
/** Scopes the dev stack requests: OIDC ones plus the example API's. */
export const DEV_SCOPES = 'openid profile email offline_access notes:read notes:write';
/** RFC 8707 resource indicator of the example API: tokens for it are RS256 JWTs with this `aud`. */
export const DEV_API_RESOURCE = 'https://api.hono-bff.test';

/** Starts IdP, API and BFF on 127.0.0.1. Secrets are random per start. */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const publicHost = options.publicHost ?? 'localhost';
  // The BFF listens first: the IdP must know its redirect URI, which contains the port.
  let handler: NodeFetchHandler = () => new Response('starting', { status: 503 });
  const bff = await serveNode((request, env) => handler(request, env), { host: '127.0.0.1', port: options.bffPort ?? 0 });
  const bffUrl = options.publicUrl ?? `http://${publicHost}:${bff.port}`;
  const basePath = options.env?.BFF_BASE_PATH ?? '/bff';
  const clientSecret = randomBytes(32).toString('base64url');
  const idp = await startDevIdp({
    port: options.idpPort ?? 0,
    clients: [{ clientId: DEV_CLIENT_ID, clientSecret, redirectUris: [`${bffUrl}${basePath}/callback`], postLogoutRedirectUris: [`${bffUrl}/`] }],
    resource: DEV_API_RESOURCE,
    ...options.idp,
  });
  const api = await startExampleApi({ port: options.apiPort ?? 0, issuer: idp.issuer, audience: DEV_API_RESOURCE });
  const env: Record<string, string | undefined> = {
    BFF_ISSUER: idp.issuer,
    BFF_CLIENT_ID: DEV_CLIENT_ID,
    BFF_CLIENT_SECRET: clientSecret,
    BFF_PUBLIC_URL: bffUrl,
    BFF_SESSION_SECRET: randomBytes(32).toString('base64url'),
    BFF_RESOURCE: DEV_API_RESOURCE,
    BFF_SCOPES: DEV_SCOPES,
    BFF_ROUTES: JSON.stringify(options.apiRoutes?.(api.url) ?? { '/api': `${api.url}/api` }),
    ...options.env,
  };
  try {
    const app = createNodeBff(parseConfig(env), options.deps);
    handler = app.fetch;
  } catch (error) {
    await Promise.all([bff.close(), idp.close(), api.close()]);
    throw error;
  }
  return {
    idp,
    api,
    bff,
    bffUrl,
    env,
    close: async () => {
      await Promise.all([bff.close(), idp.close(), api.close()]);
    },
  };
}
