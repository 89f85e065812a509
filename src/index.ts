/**
 * hono-bff: a Backend-for-Frontend token handler for single-page apps.
 * @module
 */
export { createBff } from './app.js';
export { parseConfig, ConfigError, DEFAULT_SCOPES, type BffConfig, type ConfigEnv, type RouteConfig } from './config.js';
export { BffError, ERROR_CODES, problemBody, problemResponse, type ErrorCode, type ProblemBody } from './errors.js';
export type { FetchLike } from './fetch.js';
export { createConsoleLogger, createJsonLineLogger, silentLogger, type Logger, type LogLevel, type LogFields, type FailureDomain } from './log.js';
export { createMemoryRateLimitStore, type RateLimitStore, type MemoryRateLimitStoreOptions } from './ratelimit/store.js';
export type { RateLimitRule, RateLimitDecision } from './ratelimit/bucket.js';
export type { BffDeps } from './runtime.js';
export type { SessionView } from './session/session.js';
