/**
 * Where token buckets live. The default keeps them in memory, per Node
 * process or Workers isolate, bounded in size; a shared store (Redis, a
 * Durable Object) plugs in through {@link RateLimitStore} via `deps.rateLimitStore`.
 */
import { takeToken, type BucketState, type RateLimitDecision, type RateLimitRule } from './bucket.js';

/** A place to keep token buckets; `take` may be asynchronous (a network store). */
export interface RateLimitStore {
  /** Takes one token from the bucket `key` (full when unknown) under `rule` at `nowMs`. */
  take(key: string, nowMs: number, rule: RateLimitRule): RateLimitDecision | Promise<RateLimitDecision>;
}

/** Options of {@link createMemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /** Most buckets kept; the least recently used one is forgotten first (a forgotten bucket is full). @default 100000 */
  maxKeys?: number;
}

/**
 * The in-memory store: one Map in least-recently-used order, so memory stays
 * bounded however many clients or sessions show up.
 *
 * @example
 * createBff(config, { rateLimitStore: createMemoryRateLimitStore({ maxKeys: 10_000 }) })
 */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): RateLimitStore & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, BucketState>();
  return {
    get size() {
      return buckets.size;
    },
    take(key, nowMs, rule) {
      const { decision, state } = takeToken(buckets.get(key), rule, nowMs);
      // Re-inserting moves the key to the end: the Map's first key is always the least recently used.
      buckets.delete(key);
      buckets.set(key, state);
      while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      return decision;
    },
  };
}
