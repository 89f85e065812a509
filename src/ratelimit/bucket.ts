/**
 * Token-bucket arithmetic, pure: a bucket holds up to `burst` tokens, refills
 * continuously at `perMinute` tokens a minute, and each request takes one.
 * Stores keep a {@link BucketState} per key; the clock is passed in.
 */

/** A limit: `perMinute` sustained requests, up to `burst` at once. */
export interface RateLimitRule {
  /** Tokens added per minute (continuously). */
  readonly perMinute: number;
  /** Bucket capacity: requests allowed at once after a quiet period. */
  readonly burst: number;
}

/** One bucket: its tokens when last touched, and when that was (epoch ms). */
export interface BucketState {
  tokens: number;
  updatedMs: number;
}

/** The answer to one request. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Whole seconds until a token is available (0 when allowed). */
  retryAfterSeconds: number;
}

/**
 * Takes one token from a bucket (a missing bucket is full) at `nowMs`.
 * A clock that goes backwards refills nothing.
 *
 * @returns the decision and the bucket's new state.
 */
export function takeToken(state: BucketState | undefined, rule: RateLimitRule, nowMs: number): { decision: RateLimitDecision; state: BucketState } {
  const perMs = rule.perMinute / 60_000;
  const elapsed = state ? Math.max(0, nowMs - state.updatedMs) : 0;
  const tokens = state ? Math.min(rule.burst, state.tokens + elapsed * perMs) : rule.burst;
  if (tokens >= 1) return { decision: { allowed: true, retryAfterSeconds: 0 }, state: { tokens: tokens - 1, updatedMs: nowMs } };
  const waitMs = (1 - tokens) / perMs;
  return { decision: { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }, state: { tokens, updatedMs: nowMs } };
}
