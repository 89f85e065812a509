/**
 * A short-lived, bounded cache of unsealed session cookies, so the common
 * proxied request costs a SHA-256 digest and a map lookup instead of an
 * iron-session unseal (two key derivations, an HMAC and an AES decryption).
 *
 * What it caches is exactly the unseal step: cookie value in, session data
 * out. Everything `readSession` checks after the unseal (shape, absolute end,
 * idle timeout, key-rotation re-seal signal) still runs on every request, on
 * the cached data, so the cache cannot extend a session or hide a rotation.
 *
 * - Key: hex SHA-256 of the whole sealed value, all chunks joined (Web
 *   Crypto, or a synchronous implementation the runtime adapter injects); the
 *   cache never holds a cookie value, and two different cookie values never
 *   share an entry.
 * - Life of an entry: at most `ttlSeconds` (default 60), never beyond the
 *   session's absolute end (`exp`, on the runtime's clock) nor the seal's own
 *   expiry (on real time, as iron-session checks it).
 * - Dropped when the BFF replaces or clears the session it was read for
 *   (refresh, re-seal, logout, an invalid or expired session): see
 *   {@link releaseCachedSession}. A released value is not cached again for
 *   `ttlSeconds` (requests still in flight with the old cookie unseal it).
 * - Bounded: `maxEntries` (default 10,000) and an estimate of `maxBytes`
 *   (default 32 MiB); the least recently used entry goes first.
 * - Concurrent misses of one value share one unseal.
 * - Only successful unseals are cached; anything that fails to unseal is
 *   unsealed (and refused) again next time.
 *
 * Web APIs only: runs on Node and in workerd (per isolate there).
 */
import { sha256Hex } from '../digest.js';
import type { SealPurpose, Sealer } from './seal.js';

/** Options of {@link createSessionCache}. */
export interface SessionCacheOptions {
  /** Longest life of an entry, in seconds; 0 disables the cache. @default 60 */
  ttlSeconds?: number;
  /** Most entries held. @default 10000 */
  maxEntries?: number;
  /** Most bytes held, estimated from the sealed length (about 1.5x the session's JSON). @default 33554432 */
  maxBytes?: number;
  /** Clock in epoch milliseconds (the runtime's injectable one). @default Date.now */
  now?: () => number;
  /**
   * SHA-256 (lowercase hex) of a string, for the keys. A synchronous one saves a
   * thread-pool round trip per request (the Node adapter passes node:crypto's).
   * @default Web Crypto's (asynchronous)
   */
  sha256?: (text: string) => string | Promise<string>;
}

/** Counters of a {@link SessionCache}, for benchmarks and tests. */
export interface SessionCacheStats {
  entries: number;
  /** Estimated bytes held by the entries. */
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
  /** Entries dropped because the BFF replaced or cleared their session. */
  released: number;
}

/** The unsealed-session cache of one BFF app. */
export interface SessionCache {
  /**
   * A {@link Sealer} for reading one request's session: `unseal('session', …)`
   * goes through the cache and remembers, for `cookies` (the request's parsed
   * cookies), which entry it used so that writing or clearing the session
   * for that request drops it ({@link releaseCachedSession}). Everything else
   * is passed to the underlying sealer.
   */
  sealerFor(cookies: object): Sealer;
  /** Drops the entry of a sealed value and keeps it out for `ttlSeconds`. */
  forget(sealed: string): Promise<void>;
  stats(): SessionCacheStats;
  /** Drops every entry. */
  clear(): void;
}

interface Entry {
  data: object;
  /** Epoch ms (the cache's clock) from which the entry is not used: ttl, or the session's absolute end. */
  until: number;
  /** Epoch ms (real time, iron's clock) from which the entry is not used: the seal's own expiry. */
  sealUntil: number;
  bytes: number;
}

/** Per-entry bookkeeping beyond the sealed length: key, map slot, object headers. */
const ENTRY_OVERHEAD_BYTES = 400;

/**
 * Which cache entry each request's cookies were read through, so that the
 * session module can drop it when it writes or clears that session. Keyed by
 * the request's parsed-cookies object (per request, weakly held).
 */
const releasers = new WeakMap<object, () => void>();

/**
 * Drops the cache entry (if any) that `cookies`' session was read from. Called
 * by the session module whenever it writes a new session cookie or clears it
 * for a request; a no-op for requests read without a cache.
 */
export function releaseCachedSession(cookies: object): void {
  const release = releasers.get(cookies);
  if (!release) return;
  releasers.delete(cookies);
  release();
}

/** Creates the cache in front of `sealer`'s session unseal. */
export function createSessionCache(sealer: Sealer, options: SessionCacheOptions = {}): SessionCache {
  const ttlMs = Math.max(0, options.ttlSeconds ?? 60) * 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const now = options.now ?? Date.now;
  const digest = options.sha256 ?? sha256Hex;
  const entries = new Map<string, Entry>();
  /** Released keys (until epoch ms): not cached again while requests with the old cookie may still arrive. */
  const released = new Map<string, number>();
  const pending = new Map<string, Promise<object | undefined>>();
  let bytes = 0;
  const stats = { hits: 0, misses: 0, evictions: 0, released: 0 };

  const drop = (key: string, entry: Entry) => {
    entries.delete(key);
    bytes -= entry.bytes;
  };

  const release = (key: string) => {
    const entry = entries.get(key);
    if (entry) {
      drop(key, entry);
      stats.released++;
    }
    released.delete(key);
    released.set(key, now() + ttlMs);
    while (released.size > maxEntries) released.delete(released.keys().next().value!);
  };

  const isReleased = (key: string, at: number): boolean => {
    const until = released.get(key);
    if (until === undefined) return false;
    if (until > at) return true;
    released.delete(key);
    return false;
  };

  const store = (key: string, sealed: string, data: object) => {
    const at = now();
    if (isReleased(key, at)) return;
    const exp = (data as { exp?: unknown }).exp;
    const until = Math.min(at + ttlMs, typeof exp === 'number' ? exp * 1000 : Infinity);
    const sealUntil = sealExpiry(sealed);
    if (!(until > at) || !(sealUntil > Date.now())) return;
    const size = sealed.length + ENTRY_OVERHEAD_BYTES;
    const previous = entries.get(key);
    if (previous) drop(key, previous);
    entries.set(key, { data: freezeNested(data), until, sealUntil, bytes: size });
    bytes += size;
    while (entries.size > maxEntries || bytes > maxBytes) {
      const oldest = entries.keys().next().value!;
      drop(oldest, entries.get(oldest)!);
      stats.evictions++;
    }
  };

  const unsealSession = async (sealed: string, key: string): Promise<object | undefined> => {
    const at = now();
    const entry = entries.get(key);
    if (entry) {
      if (entry.until > at && entry.sealUntil > Date.now()) {
        stats.hits++;
        // Most recently used last; the map's first entry is the eviction candidate.
        entries.delete(key);
        entries.set(key, entry);
        // A fresh top-level object per request: a handler changing its copy cannot change the cache.
        return { ...entry.data };
      }
      drop(key, entry);
    }
    stats.misses++;
    let shared = pending.get(key);
    if (!shared) {
      shared = sealer.unseal<object>('session', sealed).then((data) => {
        if (data) store(key, sealed, data);
        return data;
      });
      pending.set(key, shared);
      void shared.finally(() => pending.delete(key)).catch(() => undefined);
    }
    const data = await shared;
    return data ? { ...data } : undefined;
  };

  return {
    sealerFor(cookies) {
      if (ttlMs === 0) return sealer;
      return {
        seal: (purpose, data, ttlSeconds) => sealer.seal(purpose, data, ttlSeconds),
        usesPrimaryKey: (sealed) => sealer.usesPrimaryKey(sealed),
        async unseal<T extends object>(purpose: SealPurpose, sealed: string): Promise<T | undefined> {
          // Same input limits as the sealer: nothing oversized is even digested.
          if (purpose !== 'session' || sealed.length > 64 * 1024) return sealer.unseal<T>(purpose, sealed);
          const key = await digest(sealed);
          releasers.set(cookies, () => release(key));
          return (await unsealSession(sealed, key)) as T | undefined;
        },
      };
    },
    async forget(sealed) {
      release(await digest(sealed));
    },
    stats: () => ({ entries: entries.size, bytes, ...stats }),
    clear() {
      entries.clear();
      released.clear();
      bytes = 0;
    },
  };
}

/**
 * The seal's own expiry: epoch ms of real time (iron's clock), the sixth field
 * of an iron seal, authenticated by the successful unseal. Infinity for a seal
 * without one (never made by this BFF: its seals always carry a ttl).
 */
function sealExpiry(sealed: string): number {
  const field = sealed.split('*', 6)[5];
  const expiry = field ? Number(field) : NaN;
  return Number.isFinite(expiry) && expiry > 0 ? expiry : Infinity;
}

/** Freezes the nested objects (e.g. `user`) that every copy handed out shares. */
function freezeNested<T extends object>(data: T): T {
  for (const value of Object.values(data)) if (value !== null && typeof value === 'object') deepFreeze(value as object);
  return data;
}

function deepFreeze(value: object): void {
  if (Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
}

