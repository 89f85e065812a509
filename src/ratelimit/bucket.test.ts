import { describe, expect, it } from 'vitest';
import { takeToken, type BucketState, type RateLimitRule } from './bucket.js';

const RULE: RateLimitRule = { perMinute: 6, burst: 3 }; // one token every 10 s
const T0 = 1_700_000_000_000;

/** Takes `n` tokens at `nowMs`, threading the state; returns the decisions and the last state. */
function takeMany(n: number, state: BucketState | undefined, nowMs: number) {
  const decisions = [];
  for (let i = 0; i < n; i++) {
    const result = takeToken(state, RULE, nowMs);
    decisions.push(result.decision);
    state = result.state;
  }
  return { decisions, state };
}

describe('takeToken', () => {
  it('a new bucket is full: `burst` requests pass at once, the next waits for one refill', () => {
    const { decisions } = takeMany(4, undefined, T0);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(decisions[0]!.retryAfterSeconds).toBe(0);
  });

  it('refills continuously at perMinute and Retry-After counts down to the next token', () => {
    const { state } = takeMany(3, undefined, T0);
    expect(takeToken(state, RULE, T0 + 4_000).decision).toEqual({ allowed: false, retryAfterSeconds: 6 });
    expect(takeToken(state, RULE, T0 + 9_999).decision).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(takeToken(state, RULE, T0 + 10_000).decision.allowed).toBe(true);
  });

  it('never holds more than `burst` tokens, however long it was idle', () => {
    const { state } = takeMany(3, undefined, T0);
    const later = takeMany(4, state, T0 + 3_600_000);
    expect(later.decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });

  it('refused requests do not consume tokens (a client cannot dig itself deeper)', () => {
    let { state } = takeMany(3, undefined, T0);
    for (let i = 0; i < 50; i++) state = takeToken(state, RULE, T0 + i * 10).state;
    expect(takeToken(state, RULE, T0 + 10_000).decision.allowed).toBe(true);
  });

  it('a clock that goes backwards refills nothing', () => {
    const { state } = takeMany(3, undefined, T0);
    expect(takeToken(state, RULE, T0 - 60_000).decision).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('high rates: Retry-After is at least 1 second', () => {
    const rule = { perMinute: 6000, burst: 1 };
    const first = takeToken(undefined, rule, T0);
    expect(takeToken(first.state, rule, T0).decision).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});
