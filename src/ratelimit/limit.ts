/**
 * The BFF's rate limits, over a {@link RateLimitStore}: per client address on
 * the login endpoints (middleware), and per session on proxied routes (a
 * function the proxy calls once the session is known valid). A request over
 * the limit is a 429 `rate_limited` problem with `Retry-After`, before any
 * IdP or upstream call.
 */
import type { MiddlewareHandler } from 'hono';
import { sha256Hex } from '../digest.js';
import { BffError } from '../errors.js';
import type { BffRuntime } from '../runtime.js';
import type { RateLimitRule } from './bucket.js';

/**
 * The bucket key of a client address: IPv4 as is (also when IPv4-mapped),
 * IPv6 by its /64 prefix (one host usually owns a whole /64), and one shared
 * bucket for requests whose address is unknown.
 */
export function clientBucketKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  return ipv6Prefix64(address) ?? address.toLowerCase();
}

/** `2001:db8:1:2::/64` for any address in that /64; undefined when the text is not IPv6. */
function ipv6Prefix64(address: string): string | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // A trailing dotted IPv4 (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const last = tail.length > 0 ? tail : head;
  if (last[last.length - 1]?.includes('.')) last.splice(-1, 1, '0', '0');
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return undefined;
  const full = [...head, ...Array<string>(halves.length === 1 ? 0 : zeros).fill('0'), ...tail];
  if (!full.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** `BFF_RATE_LIMIT_LOGIN_PER_MINUTE` as middleware for one endpoint; each endpoint has its own buckets. */
export function clientRateLimit(runtime: BffRuntime, endpoint: string): MiddlewareHandler {
  const perMinute = runtime.config.rateLimitLoginPerMinute;
  const rule: RateLimitRule = { perMinute, burst: perMinute };
  return async function bffClientRateLimit(c, next) {
    if (perMinute > 0) await enforceRateLimit(runtime, endpoint, clientBucketKey(runtime.clientAddress(c)), rule);
    await next();
  };
}

/**
 * `BFF_RATE_LIMIT_SESSION_PER_MINUTE`: takes a token from the session's
 * bucket, keyed by a digest of the session id (never the cookie).
 *
 * @throws {BffError} `rate_limited` with `retryAfter` when the session is over its limit.
 */
export async function enforceSessionRateLimit(runtime: BffRuntime, session: { sid: string }): Promise<void> {
  const perMinute = runtime.config.rateLimitSessionPerMinute;
  if (perMinute === 0) return;
  await enforceRateLimit(runtime, 'session', await sha256Hex(session.sid), { perMinute, burst: perMinute });
}

/** Takes a token; a failing store lets the request through (logged): a store outage must not lock everyone out. */
async function enforceRateLimit(runtime: BffRuntime, scope: string, key: string, rule: RateLimitRule): Promise<void> {
  let decision;
  try {
    decision = await runtime.rateLimitStore.take(`${scope}:${key}`, runtime.now(), rule);
  } catch (error) {
    runtime.logger.log('warn', 'ratelimit.store_failed', { domain: 'internal', scope, error: error instanceof Error ? error.name : 'unknown' });
    return;
  }
  if (!decision.allowed) throw new BffError('rate_limited', { retryAfter: decision.retryAfterSeconds, logInfo: `${scope} limit` });
}
