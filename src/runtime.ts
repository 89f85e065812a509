/**
 * The per-app runtime: validated config plus the injectable dependencies
 * (fetch for the IdP and upstreams, clock, logger, client address, rate-limit
 * store), built once by `createBff` and shared by every route.
 */
import type { Context } from 'hono';
import type { BffConfig } from './config.js';
import type { FetchLike } from './fetch.js';
import { createConsoleLogger, type Logger } from './log.js';
import { createMetrics, disabledMetrics, type Metrics } from './observability/metrics.js';
import { createDiscovery, type Discovery } from './oidc/discovery.js';
import { limitResponseSize } from './oidc/response-limit.js';
import { forwardedClientAddress } from './proxy/client-address.js';
import { createMemoryRateLimitStore, type RateLimitStore } from './ratelimit/store.js';
import { createPhantomTokens, logPhantomMode, type PhantomTokens } from './phantom/introspection.js';
import { createRefresher, type Refresher } from './session/refresh.js';
import { createSealer, type Sealer } from './session/seal.js';
import { createSessionCache, type SessionCache } from './session/session-cache.js';
import type { AssetFetcher } from './static/spa.js';

/** Dependencies a runtime adapter or a test may inject into {@link createBff}. */
export interface BffDeps {
  /** Fetch for every outbound call unless more specific ones are given. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Fetch for calls to the IdP (discovery, JWKS, token, revocation, introspection). @default deps.fetch */
  idpFetch?: FetchLike;
  /** Fetch for proxied calls to upstream APIs. @default deps.fetch */
  upstreamFetch?: FetchLike;
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Structured logger. @default JSON lines on the console, from `BFF_LOG_LEVEL` */
  logger?: Logger;
  /**
   * The client's address as the runtime knows it (the socket on Node,
   * CF-Connecting-IP on Workers); with `BFF_TRUST_PROXY` the trusted
   * `X-Forwarded-For` entry is preferred. @default none
   */
  clientAddress?: (c: Context) => string | undefined;
  /** Where rate-limit buckets live; pass a shared store to limit across processes. @default in memory, 100000 keys */
  rateLimitStore?: RateLimitStore;
  /** Static files of the SPA (a folder on Node, the ASSETS binding on Workers); served with SPA fallback. @default none */
  assets?: AssetFetcher;
  /** SHA-256 (lowercase hex) for the session cache's keys; the Node adapter passes a synchronous one. @default Web Crypto */
  sha256?: (text: string) => string | Promise<string>;
}

/** Everything a route handler needs. */
export interface BffRuntime {
  readonly config: BffConfig;
  readonly sealer: Sealer;
  /** Unsealed sessions, briefly and bounded, in front of the session unseal (see session-cache.ts). */
  readonly sessionCache: SessionCache;
  readonly discovery: Discovery;
  readonly refresher: Refresher;
  /** Phantom-token exchange of routes with `token: "phantom"` (introspection, cached per token). */
  readonly phantom: PhantomTokens;
  readonly upstreamFetch: FetchLike;
  readonly logger: Logger;
  /** Counters and histograms (records nothing unless `BFF_METRICS` is on). */
  readonly metrics: Metrics;
  readonly rateLimitStore: RateLimitStore;
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Current time in epoch seconds (integer). */
  nowSeconds(): number;
  /** The client's address: the trusted `X-Forwarded-For` entry behind `BFF_TRUST_PROXY` proxies, else the runtime's. */
  clientAddress(c: Context): string | undefined;
}

/** Builds the runtime of one BFF app. No network I/O happens here. */
export function createRuntime(config: BffConfig, deps: BffDeps = {}): BffRuntime {
  const baseFetch: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const idpFetch = limitResponseSize(deps.idpFetch ?? baseFetch);
  const now = deps.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const logger = deps.logger ?? createConsoleLogger(config.logLevel, now);
  const metrics = config.metricsEnabled ? createMetrics() : disabledMetrics;
  const runtimeAddress = deps.clientAddress ?? (() => undefined);
  // Phantom routes' mode (signed or JSON introspection) is logged once, when the IdP is first discovered.
  const discovery = createDiscovery(config, idpFetch, now, (provider) => logPhantomMode(config, provider, logger));
  const refresher = createRefresher(config, discovery, nowSeconds, (outcome) => metrics.increment('hono_bff_refreshes_total', { outcome }));
  const sealer = createSealer(config.sessionSecrets);
  return {
    config,
    sealer,
    sessionCache: createSessionCache(sealer, { now, ...(deps.sha256 ? { sha256: deps.sha256 } : {}) }),
    discovery,
    refresher,
    phantom: createPhantomTokens(config, discovery, idpFetch, nowSeconds, { refresher, logger }),
    upstreamFetch: deps.upstreamFetch ?? baseFetch,
    logger,
    metrics,
    rateLimitStore: deps.rateLimitStore ?? createMemoryRateLimitStore(),
    now,
    nowSeconds,
    clientAddress:
      config.trustProxyHops === 0 ? runtimeAddress : (c) => forwardedClientAddress(c.req.header('x-forwarded-for'), config.trustProxyHops) ?? runtimeAddress(c),
  };
}
