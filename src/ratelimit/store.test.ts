import { describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from './store.js';

const RULE = { perMinute: 1, burst: 1 };
const T0 = 1_700_000_000_000;

describe('createMemoryRateLimitStore', () => {
  it('keeps one bucket per key', async () => {
    const store = createMemoryRateLimitStore();
    expect((await store.take('login:a', T0, RULE)).allowed).toBe(true);
    expect(await store.take('login:a', T0, RULE)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect((await store.take('login:b', T0, RULE)).allowed).toBe(true);
    expect((await store.take('callback:a', T0, RULE)).allowed).toBe(true);
  });

  it('is bounded: the least recently used bucket is forgotten first', async () => {
    const store = createMemoryRateLimitStore({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) await store.take(key, T0, RULE);
    await store.take('a', T0, RULE); // a is now the most recently used
    await store.take('d', T0, RULE); // evicts b
    expect(store.size).toBe(3);
    expect((await store.take('a', T0, RULE)).allowed).toBe(false);
    expect((await store.take('c', T0, RULE)).allowed).toBe(false);
    // b was forgotten: it starts full again.
    expect((await store.take('b', T0, RULE)).allowed).toBe(true);
  });

  it('never grows past 100000 keys by default', async () => {
    const store = createMemoryRateLimitStore();
    for (let i = 0; i < 100_010; i++) await store.take(`k${i}`, T0, RULE);
    expect(store.size).toBe(100_000);
  });
});
