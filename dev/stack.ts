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
import { DEV_API_RESOURCE, DEV_CLIENT_ID, DEV_SCOPES, type DevTokenMode } from './constants.js';
import { startDevIdp, type DevIdp, type DevIdpOptions } from './idp.js';

export { DEV_API_RESOURCE, DEV_CLIENT_ID, DEV_SCOPES, type DevTokenMode } from './constants.js';

/** A BFF_ROUTES entry: an upstream URL or a route object (see `BFF_ROUTES`). */
export type DevRouteSpec = string | { target: string; methods?: string[]; scopes?: string[]; token?: 'access' | 'phantom' | 'none'; timeoutMs?: number };

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
  /** BFF_ROUTES as a function of the example API's URL. @default {@link defaultApiRoutes} of the token mode */
  apiRoutes?: (apiUrl: string) => Record<string, DevRouteSpec>;
  /**
   * `access` (default): the BFF requests the example API's resource and forwards its `at+jwt`.
   * `phantom`: no BFF_RESOURCE (access tokens are opaque) and `/api` is a `token: "phantom"` route.
   */
  tokenMode?: DevTokenMode;
  /** Dev IdP knobs (token lifetimes, rotation). */
  idp?: Pick<DevIdpOptions, 'accessTokenTtlSeconds' | 'rotateRefreshTokens' | 'refreshTokenTtlSeconds' | 'accessTokenPaddingBytes' | 'jwtIntrospection'>;
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

/** The default BFF_ROUTES of a token mode: `/api` → the example API, as a phantom route in phantom mode. */
export function defaultApiRoutes(apiUrl: string, tokenMode: DevTokenMode = 'access'): Record<string, DevRouteSpec> {
  return { '/api': tokenMode === 'phantom' ? { target: `${apiUrl}/api`, token: 'phantom' } : `${apiUrl}/api` };
}

/** The BFF_RESOURCE of a token mode: the example API's in access mode, none in phantom mode (opaque tokens). */
export function devResourceFor(tokenMode: DevTokenMode = 'access'): string | undefined {
  return tokenMode === 'phantom' ? undefined : DEV_API_RESOURCE;
}

/**
 * Starts the dev IdP (with the BFF registered for `bffUrl`) and the example
 * API, and returns the BFF environment that points at them. Shared by the
 * Node stack and the test target that runs the BFF in workerd.
 */
export async function startDevIdpAndApi(
  bffUrl: string,
  options: Pick<DevStackOptions, 'idpPort' | 'apiPort' | 'idp' | 'tokenMode' | 'apiRoutes' | 'env'>,
): Promise<{ idp: DevIdp; api: ExampleApi; env: Record<string, string | undefined> }> {
  const basePath = options.env?.BFF_BASE_PATH ?? '/bff';
  const clientSecret = randomBytes(32).toString('base64url');
  const idp = await startDevIdp({
    port: options.idpPort ?? 0,
    clients: [{ clientId: DEV_CLIENT_ID, clientSecret, redirectUris: [`${bffUrl}${basePath}/callback`], postLogoutRedirectUris: [`${bffUrl}/`] }],
    resource: DEV_API_RESOURCE,
    ...options.idp,
  });
  const api = await startExampleApi({ port: options.apiPort ?? 0, issuer: idp.issuer, audience: DEV_API_RESOURCE, phantomAudience: DEV_CLIENT_ID });
  const env: Record<string, string | undefined> = {
    BFF_ISSUER: idp.issuer,
    BFF_CLIENT_ID: DEV_CLIENT_ID,
    BFF_CLIENT_SECRET: clientSecret,
    BFF_PUBLIC_URL: bffUrl,
    BFF_SESSION_SECRET: randomBytes(32).toString('base64url'),
    BFF_RESOURCE: devResourceFor(options.tokenMode),
    BFF_SCOPES: DEV_SCOPES,
    BFF_ROUTES: JSON.stringify(options.apiRoutes?.(api.url) ?? defaultApiRoutes(api.url, options.tokenMode)),
    ...options.env,
  };
  return { idp, api, env };
}

/** Starts IdP, API and BFF on 127.0.0.1. Secrets are random per start. */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const publicHost = options.publicHost ?? 'localhost';
  // The BFF listens first: the IdP must know its redirect URI, which contains the port.
  let handler: NodeFetchHandler = () => new Response('starting', { status: 503 });
  const bff = await serveNode((request, env) => handler(request, env), { host: '127.0.0.1', port: options.bffPort ?? 0 });
  const bffUrl = options.publicUrl ?? `http://${publicHost}:${bff.port}`;
  const { idp, api, env } = await startDevIdpAndApi(bffUrl, options);
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
