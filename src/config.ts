/**
 * Configuration: read once from environment-style variables, validated as a
 * whole, frozen. A bad configuration stops the server before it serves a
 * request, with one error that names every bad key (and never a secret).
 */
import { BffError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { DEFAULT_CSP } from './static/spa.js';
import { isLoopbackHost } from './url.js';

/** One proxied route: requests under `prefix` go to `target`. */
export interface RouteConfig {
  /** Path prefix on the BFF's origin, without trailing slash, e.g. `/api`. */
  readonly prefix: string;
  /** Upstream base URL (no trailing slash); the prefix is replaced by its path. */
  readonly target: string;
  /** Origin of `target`, to recognise upstream redirects back to it. */
  readonly targetOrigin: string;
  /** Methods the route forwards; others get 405. @default DEFAULT_ROUTE_METHODS */
  readonly methods: readonly string[];
  /** Scopes the session's access token must all have (else 403 `insufficient_scope`). @default [] */
  readonly scopes: readonly string[];
  /**
   * What goes upstream as the Bearer: the session's `access` token, a `phantom`
   * JWT from introspecting it, or nothing (`none`: a public route, no session needed).
   * @default "access"
   */
  readonly token: RouteTokenMode;
  /** Timeout until this upstream answers with headers, in ms. @default BFF_UPSTREAM_TIMEOUT_MS */
  readonly timeoutMs: number;
}

/** How a route authenticates upstream. */
export type RouteTokenMode = 'access' | 'phantom' | 'none';
const TOKEN_MODES: readonly RouteTokenMode[] = ['access', 'phantom', 'none'];

/** Methods a route forwards unless it lists its own. TRACE and CONNECT are never forwarded. */
export const DEFAULT_ROUTE_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const FORBIDDEN_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);
/** Keys a route object may have. */
const ROUTE_KEYS = new Set(['target', 'methods', 'scopes', 'token', 'timeoutMs']);

/** The validated, frozen configuration of one BFF. */
export interface BffConfig {
  /** OIDC issuer identifier, exactly as configured. */
  readonly issuer: string;
  /** Whether plain-http calls to the issuer are allowed (only for loopback issuers). */
  readonly issuerIsLoopback: boolean;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Origin where browsers reach the BFF and the SPA, e.g. `https://app.example.com`. */
  readonly publicOrigin: string;
  /** `redirect_uri` registered at the IdP: public origin + base path + `/callback`. */
  readonly redirectUri: string;
  /** Secrets for sealing cookies: the first seals, all unseal. */
  readonly sessionSecrets: readonly string[];
  /** Scopes requested at login. @default "openid profile email offline_access" */
  readonly scopes: string;
  /** RFC 8707 resource indicator, if any. */
  readonly resource: string | undefined;
  /** Proxied routes, longest prefix first. */
  readonly routes: readonly RouteConfig[];
  /** Where the BFF's own endpoints live. @default "/bff" */
  readonly basePath: string;
  /** Browser origins allowed to call (always includes `publicOrigin`). */
  readonly allowedOrigins: readonly string[];
  /** Where the IdP sends the browser after logout. @default publicOrigin + "/" */
  readonly postLogoutRedirectUri: string;
  /** Pinned ID token signing algorithm; undefined = choose from discovery (RS256 preferred). */
  readonly idTokenSigningAlg: string | undefined;
  /** Timeout of each call to the IdP, in ms. @default 5000 */
  readonly idpTimeoutMs: number;
  /** Timeout until an upstream API answers with headers, in ms. @default 30000 */
  readonly upstreamTimeoutMs: number;
  /** Largest request body forwarded upstream, in bytes; larger ones get 413. @default 10485760 (10 MiB) */
  readonly maxBodyBytes: number;
  /** Absolute session lifetime after login, in seconds (never longer than the refresh token lives). @default 604800 (7 days) */
  readonly sessionMaxAgeSeconds: number;
  /** A session unused for this long ends, in seconds. @default 28800 (8 hours) */
  readonly sessionIdleSeconds: number;
  /** Refresh the access token when it expires within this many seconds. @default 60 */
  readonly refreshLeewaySeconds: number;
  /**
   * `BFF_INTROSPECTION_CACHE_SECONDS`: longest time an introspection result of a
   * phantom route is reused (never past the token's own `exp`); 0 introspects on
   * every request. Range 0..3600. @default 60
   */
  readonly introspectionCacheSeconds: number;
  /**
   * `BFF_RATE_LIMIT_LOGIN_PER_MINUTE`: requests per minute (and burst) each client
   * address may make to `/login`, and separately to `/callback`; 0 disables. @default 60 (one a second: far above any person, far below a brute-force run)
   */
  readonly rateLimitLoginPerMinute: number;
  /** `BFF_RATE_LIMIT_SESSION_PER_MINUTE`: proxied requests per minute (and burst) per session; 0 disables. @default 0 */
  readonly rateLimitSessionPerMinute: number;
  /**
   * `BFF_TRUST_PROXY`: how many reverse proxies in front of the BFF append to
   * `X-Forwarded-For`; the client address is the entry that many from the right.
   * 0 ignores the header and uses the runtime's address (socket, CF-Connecting-IP). @default 0
   */
  readonly trustProxyHops: number;
  /** `BFF_METRICS=1`: serve Prometheus metrics at `{basePath}/metrics`. @default false */
  readonly metricsEnabled: boolean;
  /** `BFF_LOG_LEVEL`: least severe level written by the console logger. @default "info" */
  readonly logLevel: LogLevel;
  /** Folder of the built SPA to serve (Node adapter), with fallback to its index.html. @default none */
  readonly staticDir: string | undefined;
  /** Content-Security-Policy of the served SPA document. @default DEFAULT_CSP (same-origin only) */
  readonly contentSecurityPolicy: string;
}

/** Environment-style input of {@link parseConfig}. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** The default scopes. */
export const DEFAULT_SCOPES = 'openid profile email offline_access';
const MIN_SECRET_LENGTH = 32;
const SAFE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/;

/**
 * Raised by {@link parseConfig}: `problems` names every bad key and what is
 * wrong with it; secret values are never included.
 */
export class ConfigError extends BffError {
  /** One entry per problem, each starting with the variable's name. */
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super('config_invalid', { message: `Invalid hono-bff configuration:\n  - ${problems.join('\n  - ')}` });
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * Parses and validates the configuration once, at startup.
 *
 * @throws {ConfigError} naming every bad or missing key at once.
 * @example
 * const config = parseConfig(process.env)
 */
export function parseConfig(env: ConfigEnv): BffConfig {
  const problems: string[] = [];
  const read = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (key: string): string => {
    const value = read(key);
    if (value === undefined) problems.push(`${key} is required`);
    return value ?? '';
  };

  const value = (key: string): string => read(key) ?? '';
  const issuer = parseIssuer(required('BFF_ISSUER'), problems);
  const clientId = required('BFF_CLIENT_ID');
  const clientSecret = required('BFF_CLIENT_SECRET');
  const publicOrigin = parsePublicUrl(required('BFF_PUBLIC_URL'), problems);
  const sessionSecrets = parseSecrets(required('BFF_SESSION_SECRET'), problems);
  const scopes = parseScopes(read('BFF_SCOPES') ?? DEFAULT_SCOPES, problems);
  const resource = parseResource(read('BFF_RESOURCE'), problems);
  const basePath = parseBasePath(read('BFF_BASE_PATH') ?? '/bff', problems);
  const allowedOrigins = parseAllowedOrigins(read('BFF_ALLOWED_ORIGINS'), publicOrigin, problems);
  const postLogoutRedirectUri = parseAbsoluteUrl('BFF_POST_LOGOUT_REDIRECT_URI', read('BFF_POST_LOGOUT_REDIRECT_URI'), problems) ?? `${publicOrigin}/`;
  const idTokenSigningAlg = parseAlg(read('BFF_ID_TOKEN_SIGNING_ALG'), problems);
  const idpTimeoutMs = parseInteger('BFF_IDP_TIMEOUT_MS', read('BFF_IDP_TIMEOUT_MS'), 5000, 100, 120_000, problems);
  const upstreamTimeoutMs = parseInteger('BFF_UPSTREAM_TIMEOUT_MS', read('BFF_UPSTREAM_TIMEOUT_MS'), 30_000, 100, 600_000, problems);
  const routes = parseRoutes(read('BFF_ROUTES') ?? '{}', basePath, upstreamTimeoutMs, problems);
  const sessionMaxAgeSeconds = parseInteger('BFF_SESSION_MAX_SECONDS', read('BFF_SESSION_MAX_SECONDS'), 7 * 24 * 3600, 60, 400 * 24 * 3600, problems);
  const sessionIdleSeconds = parseInteger('BFF_SESSION_IDLE_SECONDS', read('BFF_SESSION_IDLE_SECONDS'), 8 * 3600, 60, 400 * 24 * 3600, problems);
  const maxBodyBytes = parseInteger('BFF_MAX_BODY_BYTES', read('BFF_MAX_BODY_BYTES'), 10 * 1024 * 1024, 0, 1024 * 1024 * 1024, problems);
  const introspectionCacheSeconds = parseInteger('BFF_INTROSPECTION_CACHE_SECONDS', read('BFF_INTROSPECTION_CACHE_SECONDS'), 60, 0, 3600, problems);
  const rateLimitLoginPerMinute = parseInteger('BFF_RATE_LIMIT_LOGIN_PER_MINUTE', read('BFF_RATE_LIMIT_LOGIN_PER_MINUTE'), 60, 0, 1_000_000, problems);
  const rateLimitSessionPerMinute = parseInteger('BFF_RATE_LIMIT_SESSION_PER_MINUTE', read('BFF_RATE_LIMIT_SESSION_PER_MINUTE'), 0, 0, 1_000_000, problems);
  const trustProxyHops = parseInteger('BFF_TRUST_PROXY', read('BFF_TRUST_PROXY'), 0, 0, 10, problems);
  const metricsEnabled = parseFlag('BFF_METRICS', read('BFF_METRICS'), problems);
  const logLevel = parseLogLevel(read('BFF_LOG_LEVEL'), problems);

  const staticDir = read('BFF_STATIC_DIR');
  const contentSecurityPolicy = parseCsp(read('BFF_CONTENT_SECURITY_POLICY'), problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    issuer: value('BFF_ISSUER'),
    issuerIsLoopback: isLoopbackHost(issuer!.hostname),
    clientId,
    clientSecret,
    publicOrigin,
    redirectUri: `${publicOrigin}${basePath}/callback`,
    sessionSecrets,
    scopes,
    resource,
    routes,
    basePath,
    allowedOrigins,
    postLogoutRedirectUri,
    idTokenSigningAlg,
    idpTimeoutMs,
    upstreamTimeoutMs,
    maxBodyBytes,
    sessionMaxAgeSeconds,
    sessionIdleSeconds,
    refreshLeewaySeconds: 60,
    introspectionCacheSeconds,
    rateLimitLoginPerMinute,
    rateLimitSessionPerMinute,
    trustProxyHops,
    metricsEnabled,
    logLevel,
    staticDir,
    contentSecurityPolicy,
  });
}

function parseIssuer(value: string, problems: string[]): URL | undefined {
  if (value === '') return undefined;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || /[?#]/.test(value)) {
    problems.push('BFF_ISSUER must be an absolute https URL without credentials, query or fragment');
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    problems.push('BFF_ISSUER must use https (plain http is allowed only for loopback hosts: localhost, 127.0.0.0/8, [::1])');
    return undefined;
  }
  return url;
}

function parsePublicUrl(value: string, problems: string[]): string {
  if (value === '') return '';
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || /[?#]/.test(value) || (url.pathname !== '/' && url.pathname !== '')) {
    problems.push('BFF_PUBLIC_URL must be an origin: scheme, host and optional port, with no path, query or fragment');
    return '';
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    // __Host- cookies need a secure context; browsers treat only loopback http as one.
    problems.push('BFF_PUBLIC_URL must use https (plain http works only on loopback hosts, where browsers accept Secure cookies)');
    return '';
  }
  return url.origin;
}

function parseSecrets(value: string, problems: string[]): string[] {
  if (value === '') return [];
  const secrets = value.split(',').map((s) => s.trim());
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_SECRET_LENGTH) {
      problems.push(`BFF_SESSION_SECRET entry ${index + 1} of ${secrets.length} is shorter than ${MIN_SECRET_LENGTH} characters`);
    }
  });
  if (new Set(secrets).size !== secrets.length) problems.push('BFF_SESSION_SECRET lists the same secret twice');
  return secrets;
}

function parseScopes(value: string, problems: string[]): string {
  const scopes = value.split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) problems.push('BFF_SCOPES must include "openid"');
  if (scopes.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) problems.push('BFF_SCOPES contains a character not allowed in a scope');
  return [...new Set(scopes)].join(' ');
}

function parseResource(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || new URL(value).hash) {
    problems.push('BFF_RESOURCE must be an absolute URI without fragment (RFC 8707)');
    return undefined;
  }
  return value;
}

function parseBasePath(value: string, problems: string[]): string {
  const path = value.replace(/\/+$/, '');
  if (!SAFE_PATH.test(path) || path.split('/').some((seg) => seg === '.' || seg === '..')) {
    problems.push('BFF_BASE_PATH must be a path such as /bff (no trailing slash, no dot segments)');
    return '/bff';
  }
  return path;
}

function parseRoutes(value: string, basePath: string, defaultTimeoutMs: number, problems: string[]): RouteConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    problems.push('BFF_ROUTES is not valid JSON (expected an object: path prefix -> upstream URL)');
    return [];
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('BFF_ROUTES must be a JSON object: path prefix -> upstream URL');
    return [];
  }
  const routes: RouteConfig[] = [];
  for (const [rawPrefix, rawTarget] of Object.entries(raw)) {
    const label = `BFF_ROUTES[${JSON.stringify(rawPrefix.slice(0, 64))}]`;
    const prefix = rawPrefix.replace(/\/+$/, '');
    if (!SAFE_PATH.test(prefix) || prefix.split('/').some((seg) => seg === '.' || seg === '..')) {
      problems.push(`${label}: the prefix must be a path such as /api (no dot segments)`);
      continue;
    }
    if (isUnderPath(prefix, basePath) || isUnderPath(basePath, prefix)) {
      problems.push(`${label}: the prefix overlaps BFF_BASE_PATH (${basePath})`);
      continue;
    }
    if (routes.some((r) => r.prefix === prefix)) {
      problems.push(`${label}: the prefix is listed twice`);
      continue;
    }
    const spec = typeof rawTarget === 'string' ? { target: rawTarget } : rawTarget;
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      problems.push(`${label}: the value must be an upstream URL or an object {"target": URL, "methods": [...], "scopes": [...], "token": "access"|"phantom"|"none", "timeoutMs": n}`);
      continue;
    }
    const unknownKeys = Object.keys(spec).filter((key) => !ROUTE_KEYS.has(key));
    if (unknownKeys.length > 0) {
      problems.push(`${label}: unknown key(s) ${unknownKeys.map((k) => JSON.stringify(k.slice(0, 32))).join(', ')}`);
      continue;
    }
    const rawUrl = (spec as { target?: unknown }).target;
    const target = typeof rawUrl === 'string' && URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
    if (!target || (target.protocol !== 'http:' && target.protocol !== 'https:') || target.username || target.password || /[?#]/.test(String(rawUrl))) {
      problems.push(`${label}: the target must be an absolute http(s) URL without credentials, query or fragment`);
      continue;
    }
    const fields = spec as { methods?: unknown; scopes?: unknown; token?: unknown; timeoutMs?: unknown };
    const methods = parseMethods(fields.methods, label, problems);
    if (!methods) continue;
    const scopes = fields.scopes ?? [];
    if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))) {
      problems.push(`${label}: scopes must be an array of scope strings`);
      continue;
    }
    const token = fields.token ?? 'access';
    if (!TOKEN_MODES.includes(token as RouteTokenMode)) {
      problems.push(`${label}: token must be one of ${TOKEN_MODES.map((m) => `"${m}"`).join(', ')}`);
      continue;
    }
    if (token === 'none' && scopes.length > 0) {
      problems.push(`${label}: a route with token "none" has no session, so it cannot require scopes`);
      continue;
    }
    const timeoutMs = fields.timeoutMs ?? defaultTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
      problems.push(`${label}: timeoutMs must be an integer from 100 to 600000`);
      continue;
    }
    routes.push({ prefix, target: target.href.replace(/\/+$/, ''), targetOrigin: target.origin, methods, scopes: [...new Set(scopes as string[])], token: token as RouteTokenMode, timeoutMs });
  }
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

function parseMethods(value: unknown, label: string, problems: string[]): string[] | undefined {
  if (value === undefined) return [...DEFAULT_ROUTE_METHODS];
  if (!Array.isArray(value) || value.length === 0 || !value.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
    problems.push(`${label}: methods must be a non-empty array of HTTP method names`);
    return undefined;
  }
  const methods = [...new Set(value.map((m: string) => m.toUpperCase()))];
  const forbidden = methods.filter((m) => FORBIDDEN_METHODS.has(m));
  if (forbidden.length > 0) {
    problems.push(`${label}: methods must not include ${forbidden.join(', ')}`);
    return undefined;
  }
  // HEAD rides along with GET, as in HTTP semantics.
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  return methods;
}

/** Whether `path` equals `prefix` or lies below it at a segment boundary. */
export function isUnderPath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

function parseAllowedOrigins(value: string | undefined, publicOrigin: string, problems: string[]): string[] {
  const origins = publicOrigin ? [publicOrigin] : [];
  for (const entry of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!url || url.origin === 'null' || url.origin !== entry.replace(/\/$/, '') || url.hostname.includes('*')) {
      problems.push(`BFF_ALLOWED_ORIGINS: ${JSON.stringify(entry.slice(0, 100))} is not an exact origin such as https://app.example.com`);
      continue;
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

function parseAbsoluteUrl(key: string, value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash) {
    problems.push(`${key} must be an absolute http(s) URL without fragment`);
    return undefined;
  }
  return url.href;
}

function parseAlg(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!/^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(value)) {
    problems.push('BFF_ID_TOKEN_SIGNING_ALG must be an asymmetric JWS algorithm such as RS256, PS256, ES256 or EdDSA');
    return undefined;
  }
  return value;
}

function parseCsp(value: string | undefined, problems: string[]): string {
  if (value === undefined) return DEFAULT_CSP;
  if (/[\r\n]/.test(value) || !/^[\x20-\x7e]+$/.test(value)) {
    problems.push('BFF_CONTENT_SECURITY_POLICY must be a single line of printable ASCII');
    return DEFAULT_CSP;
  }
  return value;
}

function parseInteger(key: string, value: string | undefined, fallback: number, min: number, max: number, problems: string[]): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${key} must be an integer from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

function parseFlag(key: string, value: string | undefined, problems: string[]): boolean {
  if (value === undefined || value === '0' || value.toLowerCase() === 'false') return false;
  if (value === '1' || value.toLowerCase() === 'true') return true;
  problems.push(`${key} must be 1 or 0`);
  return false;
}

function parseLogLevel(value: string | undefined, problems: string[]): LogLevel {
  if (value === undefined) return 'info';
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (!level) problems.push(`BFF_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  return level ?? 'info';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
