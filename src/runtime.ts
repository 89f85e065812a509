/**
 * The per-app runtime: validated config plus the injectable dependencies
 * (fetch for the IdP and upstreams, clock, logger, client address), built
 * once by `createBff` and shared by every route.
 */
import type { Context } from 'hono';
import type { BffConfig } from './config.js';
import type { FetchLike } from './fetch.js';
import { createConsoleLogger, type Logger } from './log.js';
import { createDiscovery, type Discovery } from './oidc/discovery.js';
import { limitResponseSize } from './oidc/response-limit.js';
import { createRefresher, type Refresher } from './session/refresh.js';
import { createSealer, type Sealer } from './session/seal.js';
import type { AssetFetcher } from './static/spa.js';

/** Dependencies a runtime adapter or a test may inject into {@link createBff}. */
export interface BffDeps {
  /** Fetch for every outbound call unless more specific ones are given. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Fetch for calls to the IdP (discovery, JWKS, token, revocation). @default deps.fetch */
  idpFetch?: FetchLike;
  /** Fetch for proxied calls to upstream APIs. @default deps.fetch */
  upstreamFetch?: FetchLike;
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Structured logger. @default JSON lines on the console */
  logger?: Logger;
  /** The client's address (for X-Forwarded-For), as the runtime knows it. @default none */
  clientAddress?: (c: Context) => string | undefined;
  /** Static files of the SPA (a folder on Node, the ASSETS binding on Workers); served with SPA fallback. @default none */
  assets?: AssetFetcher;
}

/** Everything a route handler needs. */
export interface BffRuntime {
  readonly config: BffConfig;
  readonly sealer: Sealer;
  readonly discovery: Discovery;
  readonly refresher: Refresher;
  readonly upstreamFetch: FetchLike;
  readonly logger: Logger;
  /** Current time in epoch seconds (integer). */
  nowSeconds(): number;
  clientAddress(c: Context): string | undefined;
}

/** Builds the runtime of one BFF app. No network I/O happens here. */
export function createRuntime(config: BffConfig, deps: BffDeps = {}): BffRuntime {
  const baseFetch: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const idpFetch = limitResponseSize(deps.idpFetch ?? baseFetch);
  const now = deps.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const logger = deps.logger ?? createConsoleLogger('info', now);
  const discovery = createDiscovery(config, idpFetch, now);
  return {
    config,
    sealer: createSealer(config.sessionSecrets),
    discovery,
    refresher: createRefresher(config, discovery, nowSeconds),
    upstreamFetch: deps.upstreamFetch ?? baseFetch,
    logger,
    nowSeconds,
    clientAddress: deps.clientAddress ?? (() => undefined),
  };
}
