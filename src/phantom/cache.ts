/**
 * The per-process (per-isolate on Workers) cache of introspection results of
 * phantom routes, so a session's many API calls cost one introspection per
 * access token and cache period, not one per call.
 *
 * - Keys are SHA-256 hex digests of the access token ({@link tokenKey}): the
 *   cache never holds a token the browser's cookie holds.
 * - An entry lives until the earlier of the token's own `exp` (from the
 *   introspection result) and `maxSeconds` after it was stored; `maxSeconds`
 *   0 disables the cache. A revoked token is therefore seen as revoked within
 *   `maxSeconds` at the latest.
 * - Only active results are stored (see {@link IntrospectionCache.set}).
 * - The table is bounded: beyond `maxEntries` the oldest entry is dropped.
 */
import { sha256Hex } from '../digest.js';

/** What an introspection said about one access token. */
export interface IntrospectionResult {
  /** `active` from the IdP, and false when the token's `exp` has passed. */
  readonly active: boolean;
  /** The RFC 9701 signed response, forwarded upstream as the Bearer; undefined in JSON fallback mode. */
  readonly jwt: string | undefined;
  /** Scopes the token carries (`scope` of the response); authoritative for the route's scope check. */
  readonly scope: string | undefined;
  /** The token's expiry (epoch seconds), when the IdP said. */
  readonly exp: number | undefined;
}

/** A bounded TTL map from token digest to {@link IntrospectionResult}. */
export interface IntrospectionCache {
  /** The live entry of a token digest, if any (an expired one is dropped). */
  get(key: string): IntrospectionResult | undefined;
  /**
   * Stores an active result until `min(result.exp, now + maxSeconds)`. Inactive
   * results are not stored: an inactive token makes the BFF refresh and then
   * present a different token, so a negative entry would never be read again
   * by that session, and concurrent requests are already coalesced by the caller.
   */
  set(key: string, result: IntrospectionResult): void;
  /** Number of entries held (including expired ones not yet dropped). */
  readonly size: number;
  /** The keys held, oldest first (tests: they are digests, never tokens). */
  keys(): string[];
}

/** Options of {@link createIntrospectionCache}. */
export interface IntrospectionCacheOptions {
  /** Longest life of an entry, in seconds; 0 disables the cache. */
  maxSeconds: number;
  /** Most entries held; the oldest is dropped first. @default DEFAULT_MAX_ENTRIES */
  maxEntries?: number;
  /** Clock in epoch seconds (the runtime's injectable one). */
  nowSeconds: () => number;
}

/** Default bound of the cache: 10,000 entries of a few hundred bytes to ~2 KB each. */
export const DEFAULT_MAX_ENTRIES = 10_000;

/** Creates an empty cache. */
export function createIntrospectionCache(options: IntrospectionCacheOptions): IntrospectionCache {
  const { maxSeconds, nowSeconds } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const entries = new Map<string, { result: IntrospectionResult; until: number }>();

  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until > nowSeconds()) return entry.result;
      entries.delete(key);
      return undefined;
    },
    set(key, result) {
      if (!result.active || maxSeconds <= 0 || maxEntries <= 0) return;
      const until = cacheUntil(result, nowSeconds(), maxSeconds);
      if (until <= nowSeconds()) return;
      // Re-inserting moves the key to the end, so eviction order is insertion order.
      entries.delete(key);
      entries.set(key, { result, until });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
    keys() {
      return [...entries.keys()];
    },
  };
}

/** When a result stored at `now` stops being served: the token's `exp` or `now + maxSeconds`, whichever is first. */
export function cacheUntil(result: Pick<IntrospectionResult, 'exp'>, now: number, maxSeconds: number): number {
  const byPolicy = now + Math.max(0, maxSeconds);
  return typeof result.exp === 'number' ? Math.min(result.exp, byPolicy) : byPolicy;
}

/** Hex SHA-256 of a token: the cache key, so the cache never keeps the token itself. */
export function tokenKey(token: string): Promise<string> {
  return sha256Hex(token);
}
