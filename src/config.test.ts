import { describe, it, expect } from 'vitest';
import { parseConfig, ConfigError, isUnderPath, DEFAULT_SCOPES, type ConfigEnv } from './config.js';
import { BffError } from './errors.js';

const SECRET_A = 'A'.repeat(16) + 'secret-a-0123456789abcdef'; // 41 chars
const SECRET_B = 'B'.repeat(16) + 'secret-b-0123456789abcdef';

const MINIMAL: Readonly<Record<string, string>> = Object.freeze({
  BFF_ISSUER: 'https://idp.example.com',
  BFF_CLIENT_ID: 'spa-bff',
  BFF_CLIENT_SECRET: 'client-secret-value',
  BFF_PUBLIC_URL: 'https://app.example.com',
  BFF_SESSION_SECRET: SECRET_A,
});

function env(overrides: Record<string, string | undefined> = {}): ConfigEnv {
  return { ...MINIMAL, ...overrides };
}

/** Runs parseConfig expecting a ConfigError and returns it. */
function configError(input: ConfigEnv): ConfigError {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

/** The problems of a failing config (asserting there is at least one). */
function problemsOf(input: ConfigEnv): readonly string[] {
  const error = configError(input);
  expect(error.problems.length).toBeGreaterThan(0);
  return error.problems;
}

function routesEnv(routes: unknown, extra: Record<string, string> = {}): ConfigEnv {
  return env({ BFF_ROUTES: typeof routes === 'string' ? routes : JSON.stringify(routes), ...extra });
}

describe('parseConfig: valid minimal configuration', () => {
  const config = parseConfig(env());

  it('keeps the required values', () => {
    expect(config.issuer).toBe('https://idp.example.com');
    expect(config.clientId).toBe('spa-bff');
    expect(config.clientSecret).toBe('client-secret-value');
    expect(config.publicOrigin).toBe('https://app.example.com');
    expect(config.sessionSecrets).toEqual([SECRET_A]);
    expect(config.issuerIsLoopback).toBe(false);
  });

  it('applies the documented defaults', () => {
    expect(config.scopes).toBe('openid profile email offline_access');
    expect(DEFAULT_SCOPES).toBe('openid profile email offline_access');
    expect(config.basePath).toBe('/bff');
    expect(config.routes).toEqual([]);
    expect(config.allowedOrigins).toEqual(['https://app.example.com']);
    expect(config.postLogoutRedirectUri).toBe('https://app.example.com/');
    expect(config.redirectUri).toBe('https://app.example.com/bff/callback');
    expect(config.idpTimeoutMs).toBe(5000);
    expect(config.upstreamTimeoutMs).toBe(30000);
    expect(config.sessionMaxAgeSeconds).toBe(604800);
    expect(config.refreshLeewaySeconds).toBe(60);
    expect(config.introspectionCacheSeconds).toBe(60);
    expect(config.resource).toBeUndefined();
    expect(config.idTokenSigningAlg).toBeUndefined();
  });

  it('normalises a public URL with a trailing slash to its origin', () => {
    const c = parseConfig(env({ BFF_PUBLIC_URL: 'https://app.example.com/' }));
    expect(c.publicOrigin).toBe('https://app.example.com');
    expect(c.redirectUri).toBe('https://app.example.com/bff/callback');
    expect(c.postLogoutRedirectUri).toBe('https://app.example.com/');
  });

  it('keeps a non-default port in the public origin', () => {
    const c = parseConfig(env({ BFF_PUBLIC_URL: 'https://app.example.com:8443' }));
    expect(c.publicOrigin).toBe('https://app.example.com:8443');
    expect(c.redirectUri).toBe('https://app.example.com:8443/bff/callback');
  });

  it('trims whitespace around values and treats blank optional values as unset', () => {
    const c = parseConfig(env({ BFF_CLIENT_ID: '  spa-bff  ', BFF_SCOPES: '   ', BFF_ROUTES: '  ', BFF_BASE_PATH: '' }));
    expect(c.clientId).toBe('spa-bff');
    expect(c.scopes).toBe(DEFAULT_SCOPES);
    expect(c.routes).toEqual([]);
    expect(c.basePath).toBe('/bff');
  });

  it('uses a custom base path in the redirect URI (trailing slash removed)', () => {
    const c = parseConfig(env({ BFF_BASE_PATH: '/auth/' }));
    expect(c.basePath).toBe('/auth');
    expect(c.redirectUri).toBe('https://app.example.com/auth/callback');
  });

  it('accepts an explicit post-logout redirect URI', () => {
    const c = parseConfig(env({ BFF_POST_LOGOUT_REDIRECT_URI: 'https://www.example.com/bye' }));
    expect(c.postLogoutRedirectUri).toBe('https://www.example.com/bye');
  });

  it('accepts timeouts at the bounds of their ranges', () => {
    expect(parseConfig(env({ BFF_IDP_TIMEOUT_MS: '100' })).idpTimeoutMs).toBe(100);
    expect(parseConfig(env({ BFF_IDP_TIMEOUT_MS: '120000' })).idpTimeoutMs).toBe(120000);
    expect(parseConfig(env({ BFF_UPSTREAM_TIMEOUT_MS: '600000' })).upstreamTimeoutMs).toBe(600000);
  });

  it('accepts BFF_INTROSPECTION_CACHE_SECONDS from 0 (no cache) to 3600 and refuses others', () => {
    expect(parseConfig(env({ BFF_INTROSPECTION_CACHE_SECONDS: '0' })).introspectionCacheSeconds).toBe(0);
    expect(parseConfig(env({ BFF_INTROSPECTION_CACHE_SECONDS: '3600' })).introspectionCacheSeconds).toBe(3600);
    for (const value of ['3601', '-1', '1.5', 'abc']) {
      expect(problemsOf(env({ BFF_INTROSPECTION_CACHE_SECONDS: value }))).toEqual(['BFF_INTROSPECTION_CACHE_SECONDS must be an integer from 0 to 3600']);
    }
  });

  it('dedupes scopes and keeps their order', () => {
    expect(parseConfig(env({ BFF_SCOPES: 'openid  email openid\tprofile' })).scopes).toBe('openid email profile');
  });

  it('accepts a pinned asymmetric ID token algorithm and refuses HS256/none', () => {
    expect(parseConfig(env({ BFF_ID_TOKEN_SIGNING_ALG: 'ES256' })).idTokenSigningAlg).toBe('ES256');
    expect(problemsOf(env({ BFF_ID_TOKEN_SIGNING_ALG: 'HS256' })).some((p) => p.startsWith('BFF_ID_TOKEN_SIGNING_ALG'))).toBe(true);
    expect(problemsOf(env({ BFF_ID_TOKEN_SIGNING_ALG: 'none' })).some((p) => p.startsWith('BFF_ID_TOKEN_SIGNING_ALG'))).toBe(true);
  });
});

describe('parseConfig: the result is deeply frozen', () => {
  const config = parseConfig(
    env({
      BFF_ROUTES: JSON.stringify({ '/api': 'https://api.example.com/v1', '/files': 'https://files.example.com' }),
      BFF_ALLOWED_ORIGINS: 'https://admin.example.com',
      BFF_SESSION_SECRET: `${SECRET_A},${SECRET_B}`,
    }),
  );

  it('freezes the top-level object', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { basePath: string }).basePath = '/x';
    }).toThrow(TypeError);
    expect(config.basePath).toBe('/bff');
  });

  it('freezes the routes array and each route', () => {
    expect(config.routes).toHaveLength(2);
    expect(Object.isFrozen(config.routes)).toBe(true);
    for (const route of config.routes) expect(Object.isFrozen(route)).toBe(true);
    expect(() => (config.routes as unknown as unknown[]).push({})).toThrow(TypeError);
    expect(() => {
      (config.routes[0] as { target: string }).target = 'https://evil.example.com';
    }).toThrow(TypeError);
    expect(config.routes[0]?.target).not.toBe('https://evil.example.com');
  });

  it('freezes the other arrays', () => {
    expect(Object.isFrozen(config.allowedOrigins)).toBe(true);
    expect(Object.isFrozen(config.sessionSecrets)).toBe(true);
    expect(() => (config.allowedOrigins as unknown as string[]).push('https://evil.example.com')).toThrow(TypeError);
  });
});

describe('parseConfig: required keys', () => {
  const REQUIRED = ['BFF_ISSUER', 'BFF_CLIENT_ID', 'BFF_CLIENT_SECRET', 'BFF_PUBLIC_URL', 'BFF_SESSION_SECRET'];

  it('names every missing required key in one ConfigError', () => {
    const error = configError({});
    expect(error).toBeInstanceOf(BffError);
    expect(error.code).toBe('config_invalid');
    expect(error.status).toBe(500);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(REQUIRED.length);
    for (const key of REQUIRED) {
      expect(error.problems.filter((p) => p.startsWith(key))).toHaveLength(1);
      expect(error.message).toContain(key);
    }
  });

  it('freezes the problems list', () => {
    expect(Object.isFrozen(configError({}).problems)).toBe(true);
  });

  it.each(REQUIRED)('names %s alone when only it is missing', (key) => {
    const error = configError(env({ [key]: undefined }));
    expect(error.problems).toEqual([`${key} is required`]);
  });

  it.each(REQUIRED)('treats a blank %s as missing', (key) => {
    expect(configError(env({ [key]: '   ' })).problems).toEqual([`${key} is required`]);
  });
});

describe('parseConfig: session secrets', () => {
  const SHORT = 'Sh0rt-UNIQUE-marker-zq9'; // 23 chars, distinctive

  it('refuses a secret shorter than 32 characters without revealing it', () => {
    const error = configError(env({ BFF_SESSION_SECRET: SHORT }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^BFF_SESSION_SECRET/);
    expect(error.message).toContain('BFF_SESSION_SECRET');
    expect(error.message).not.toContain(SHORT);
    expect(error.message).not.toContain('UNIQUE-marker');
    for (const p of error.problems) expect(p).not.toContain('UNIQUE-marker');
    expect(JSON.stringify({ ...error, message: error.message, problems: error.problems })).not.toContain('UNIQUE-marker');
    expect(String(error.stack)).not.toContain('UNIQUE-marker');
  });

  it('refuses a 31-character secret and accepts a 32-character one', () => {
    expect(problemsOf(env({ BFF_SESSION_SECRET: 'x'.repeat(31) }))[0]).toMatch(/^BFF_SESSION_SECRET/);
    expect(parseConfig(env({ BFF_SESSION_SECRET: 'x'.repeat(32) })).sessionSecrets).toEqual(['x'.repeat(32)]);
  });

  it('accepts comma-separated secrets for rotation, in order, trimmed', () => {
    const c = parseConfig(env({ BFF_SESSION_SECRET: ` ${SECRET_B} , ${SECRET_A} ` }));
    expect(c.sessionSecrets).toEqual([SECRET_B, SECRET_A]);
  });

  it('refuses the same secret listed twice, without revealing it', () => {
    const error = configError(env({ BFF_SESSION_SECRET: `${SECRET_A},${SECRET_A}` }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^BFF_SESSION_SECRET/);
    expect(error.message).not.toContain(SECRET_A);
  });

  it('refuses a short entry among rotated secrets, naming its position only', () => {
    const error = configError(env({ BFF_SESSION_SECRET: `${SECRET_A},${SHORT}` }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^BFF_SESSION_SECRET/);
    expect(error.problems[0]).toContain('2');
    expect(error.message).not.toContain('UNIQUE-marker');
    expect(error.message).not.toContain(SECRET_A);
  });

  it('refuses an empty entry (trailing comma)', () => {
    expect(problemsOf(env({ BFF_SESSION_SECRET: `${SECRET_A},` }))[0]).toMatch(/^BFF_SESSION_SECRET/);
  });

  it('never reveals the client secret either', () => {
    const error = configError(env({ BFF_CLIENT_SECRET: 'client-secret-value', BFF_ISSUER: 'ftp://nope', BFF_SESSION_SECRET: 'tiny' }));
    expect(error.message).not.toContain('client-secret-value');
    expect(error.message).not.toContain('tiny');
  });
});

describe('parseConfig: issuer', () => {
  const issuerProblems = (issuer: string) => problemsOf(env({ BFF_ISSUER: issuer })).filter((p) => p.startsWith('BFF_ISSUER'));

  it.each(['http://idp.example.com', 'http://10.0.0.1', 'http://192.168.1.1:8080', 'http://[::2]', 'http://0.0.0.0'])('refuses plain http on non-loopback host %s', (issuer) => {
    expect(issuerProblems(issuer)).toHaveLength(1);
  });

  it.each(['http://localhost', 'http://localhost:8080', 'http://LOCALHOST:9000/realms/dev', 'http://127.0.0.1:4444', 'http://127.1.2.3', 'http://[::1]:8080', 'http://127.255.255.254/x'])(
    'accepts plain http on loopback host %s',
    (issuer) => {
      const c = parseConfig(env({ BFF_ISSUER: issuer }));
      expect(c.issuer).toBe(issuer);
      expect(c.issuerIsLoopback).toBe(true);
    },
  );

  it.each(['http://127.0.0.1.evil.com', 'http://localhost.evil.com', 'http://evil.com#@localhost', 'http://localhost@evil.com', 'http://128.0.0.1'])('refuses look-alike host %s', (issuer) => {
    expect(issuerProblems(issuer)).toHaveLength(1);
  });

  it.each([
    'https://idp.example.com/?x=1',
    'https://idp.example.com/#frag',
    'https://user:pass@idp.example.com',
    'https://user@idp.example.com',
    'ftp://idp.example.com',
    'javascript:alert(1)',
    'idp.example.com',
    '/relative',
    'not a url',
  ])('refuses issuer %s', (issuer) => {
    expect(issuerProblems(issuer)).toHaveLength(1);
  });

  it('keeps the issuer exactly as configured (with path, no normalisation)', () => {
    const c = parseConfig(env({ BFF_ISSUER: 'https://idp.example.com/realms/main' }));
    expect(c.issuer).toBe('https://idp.example.com/realms/main');
    expect(c.issuerIsLoopback).toBe(false);
  });

  // Regression: URL#search/#hash are '' for an empty `?`/`#`, which used to slip through.
  it('refuses an issuer with an empty query or fragment delimiter', () => {
    expect(issuerProblems('https://idp.example.com/?')).toHaveLength(1);
    expect(issuerProblems('https://idp.example.com/#')).toHaveLength(1);
    expect(issuerProblems('https://idp.example.com?')).toHaveLength(1);
    expect(issuerProblems('http://localhost:8080/realms/x?')).toHaveLength(1);
  });
});

describe('parseConfig: public URL', () => {
  const publicProblems = (url: string) => problemsOf(env({ BFF_PUBLIC_URL: url })).filter((p) => p.startsWith('BFF_PUBLIC_URL'));

  it.each(['https://app.example.com/app', 'https://app.example.com/bff/', 'https://app.example.com/?x=1', 'https://app.example.com/#x', 'https://u:p@app.example.com', 'ftp://app.example.com', 'app.example.com'])(
    'refuses %s',
    (url) => {
      expect(publicProblems(url)).toHaveLength(1);
    },
  );

  it.each(['http://app.example.com', 'http://10.1.2.3:3000', 'http://127.0.0.1.nip.io'])('refuses plain http on non-loopback %s', (url) => {
    expect(publicProblems(url)).toHaveLength(1);
  });

  it.each([
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
  ])('accepts loopback http %s', (url, origin) => {
    const c = parseConfig(env({ BFF_PUBLIC_URL: url }));
    expect(c.publicOrigin).toBe(origin);
    expect(c.allowedOrigins).toEqual([origin]);
  });
});

describe('parseConfig: routes', () => {
  const routeProblems = (routes: unknown, extra: Record<string, string> = {}) => problemsOf(routesEnv(routes, extra)).filter((p) => p.startsWith('BFF_ROUTES'));

  it('parses routes, removes trailing slashes and records the target origin', () => {
    const c = parseConfig(routesEnv({ '/api/': 'http://127.0.0.1:4000/api/', '/files': 'https://files.example.com/' }));
    expect(c.routes).toEqual([
      { prefix: '/files', target: 'https://files.example.com', targetOrigin: 'https://files.example.com', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], scopes: [], token: 'access', timeoutMs: 30000 },
      { prefix: '/api', target: 'http://127.0.0.1:4000/api', targetOrigin: 'http://127.0.0.1:4000', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], scopes: [], token: 'access', timeoutMs: 30000 },
    ]);
  });

  it('accepts scopes, token mode and timeout per route, defaulting to the access token and BFF_UPSTREAM_TIMEOUT_MS', () => {
    const c = parseConfig(routesEnv({ '/p': { target: 'https://p.example.com', token: 'phantom', scopes: ['notes:write', 'notes:write'], timeoutMs: 1500 }, '/pub': { target: 'https://pub.example.com', token: 'none' }, '/d': 'https://d.example.com' }, { BFF_UPSTREAM_TIMEOUT_MS: '9000' }));
    expect(c.routes.find((r) => r.prefix === '/p')).toMatchObject({ token: 'phantom', scopes: ['notes:write'], timeoutMs: 1500 });
    expect(c.routes.find((r) => r.prefix === '/pub')).toMatchObject({ token: 'none', scopes: [] });
    expect(c.routes.find((r) => r.prefix === '/d')).toMatchObject({ token: 'access', timeoutMs: 9000 });
  });

  it('accepts the object form with per-route methods (HEAD follows GET)', () => {
    const c = parseConfig(routesEnv({ '/ro': { target: 'https://ro.example.com', methods: ['get'] }, '/w': { target: 'https://w.example.com' } }));
    expect(c.routes.find((r) => r.prefix === '/ro')?.methods).toEqual(['GET', 'HEAD']);
    expect(c.routes.find((r) => r.prefix === '/w')?.methods).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
  });

  it.each([
    [{ target: 'https://x.example.com', methods: ['TRACE'] }, /must not include TRACE/],
    [{ target: 'https://x.example.com', methods: ['connect', 'GET'] }, /must not include CONNECT/],
    [{ target: 'https://x.example.com', methods: [] }, /non-empty array/],
    [{ target: 'https://x.example.com', methods: 'GET' }, /non-empty array/],
    [{ target: 'https://x.example.com', colour: 'red' }, /unknown key/],
    [{ target: 'https://x.example.com', token: 'id' }, /token must be one of/],
    [{ target: 'https://x.example.com', token: 'none', scopes: ['a'] }, /cannot require scopes/],
    [{ target: 'https://x.example.com', scopes: 'notes:write' }, /scopes must be an array/],
    [{ target: 'https://x.example.com', scopes: ['has space'] }, /scopes must be an array/],
    [{ target: 'https://x.example.com', timeoutMs: 50 }, /timeoutMs must be an integer/],
    [{ target: 'https://x.example.com', timeoutMs: '1000' }, /timeoutMs must be an integer/],
    [{ methods: ['GET'] }, /target must be/],
    [['https://x.example.com'], /must be an upstream URL or an object/],
  ])('refuses the route object %j', (route, message) => {
    const problems = problemsOf(routesEnv({ '/x': route }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^BFF_ROUTES\["\/x"\]/);
    expect(problems[0]).toMatch(message);
  });

  it('sorts routes longest prefix first', () => {
    const c = parseConfig(
      routesEnv({
        '/a': 'https://a.example.com',
        '/api/v2/admin': 'https://admin.example.com',
        '/api': 'https://api.example.com',
        '/api/v2': 'https://v2.example.com',
      }),
    );
    expect(c.routes.map((r) => r.prefix)).toEqual(['/api/v2/admin', '/api/v2', '/api', '/a']);
    const lengths = c.routes.map((r) => r.prefix.length);
    expect([...lengths].sort((x, y) => y - x)).toEqual(lengths);
  });

  it('accepts a prefix that only shares characters with the base path (/bffx)', () => {
    expect(parseConfig(routesEnv({ '/bffx': 'https://x.example.com' })).routes.map((r) => r.prefix)).toEqual(['/bffx']);
  });

  it('refuses malformed JSON', () => {
    expect(routeProblems('{"/api": ')).toHaveLength(1);
  });

  it.each([['[]'], ['["/api"]'], ['"/api"'], ['null'], ['42']])('refuses non-object JSON %s', (json) => {
    expect(routeProblems(json)).toHaveLength(1);
  });

  it.each([
    ['non-string target', { '/api': 42 }],
    ['null target', { '/api': null }],
    ['object target', { '/api': { url: 'https://api.example.com' } }],
    ['ftp target', { '/api': 'ftp://files.example.com/api' }],
    ['javascript target', { '/api': 'javascript:alert(1)' }],
    ['relative target', { '/api': '/internal' }],
    ['target with query', { '/api': 'https://api.example.com/v1?key=1' }],
    ['target with fragment', { '/api': 'https://api.example.com/v1#x' }],
    ['target with credentials', { '/api': 'https://user:pw@api.example.com' }],
    ['prefix without leading slash', { api: 'https://api.example.com' }],
    ['prefix with ..', { '/api/..': 'https://api.example.com' }],
    ['prefix starting with ..', { '/../api': 'https://api.example.com' }],
    ['prefix with .', { '/./api': 'https://api.example.com' }],
    ['prefix with a space', { '/my api': 'https://api.example.com' }],
    ['prefix with a query', { '/api?x': 'https://api.example.com' }],
    ['prefix with a backslash', { '/api\\x': 'https://api.example.com' }],
    ['prefix with double slash', { '//api': 'https://api.example.com' }],
    ['prefix equal to the base path', { '/bff': 'https://api.example.com' }],
    ['prefix below the base path', { '/bff/x': 'https://api.example.com' }],
    ['root prefix', { '/': 'https://api.example.com' }],
  ])('refuses a %s, naming the prefix', (_label, routes) => {
    const [prefix] = Object.keys(routes);
    const problems = routeProblems(routes);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`BFF_ROUTES[${JSON.stringify(prefix)}]`);
  });

  it('refuses a prefix above a custom base path', () => {
    const problems = routeProblems({ '/auth': 'https://api.example.com' }, { BFF_BASE_PATH: '/auth/bff' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('BFF_ROUTES["/auth"]');
    expect(problems[0]).toContain('/auth/bff');
  });

  it('refuses a prefix listed twice after trailing-slash normalisation', () => {
    const problems = routeProblems({ '/api': 'https://a.example.com', '/api/': 'https://b.example.com' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('BFF_ROUTES["/api/"]');
    expect(problems[0]).toMatch(/twice/);
  });

  it('names every bad route at once', () => {
    const problems = routeProblems({ '/ok': 'https://ok.example.com', bad: 'https://a.example.com', '/q': 'https://q.example.com/?a=1', '/bff': 'https://b.example.com' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('BFF_ROUTES["bad"]');
    expect(problems.join('\n')).toContain('BFF_ROUTES["/q"]');
    expect(problems.join('\n')).toContain('BFF_ROUTES["/bff"]');
  });

  // Regression: an empty `?`/`#` used to pass (URL#search/#hash are '') and was kept verbatim,
  // so upstream URLs became e.g. `http://127.0.0.1:4000/api?/users`.
  it('refuses a target with an empty query or fragment delimiter', () => {
    expect(routeProblems({ '/api': 'http://127.0.0.1:4000/api?' })).toHaveLength(1);
    expect(routeProblems({ '/api': 'http://127.0.0.1:4000/api#' })).toHaveLength(1);
    expect(routeProblems({ '/api': 'http://127.0.0.1:4000/api/?' })).toHaveLength(1);
    expect(routeProblems({ '/api': 'http://127.0.0.1:4000?' })).toHaveLength(1);
  });
});

describe('parseConfig: allowed origins', () => {
  it('accepts exact origins, adds them after the public origin, dedupes', () => {
    const c = parseConfig(env({ BFF_ALLOWED_ORIGINS: 'https://admin.example.com, https://app.example.com ,http://localhost:5173/,https://admin.example.com' }));
    expect(c.allowedOrigins).toEqual(['https://app.example.com', 'https://admin.example.com', 'http://localhost:5173']);
  });

  it.each(['https://admin.example.com/path', '*', 'null', 'file:///etc/passwd', 'admin.example.com', 'https://admin.example.com?x', 'HTTPS://ADMIN.EXAMPLE.COM', 'https://*.example.com'])(
    'refuses %s',
    (origin) => {
      const problems = problemsOf(env({ BFF_ALLOWED_ORIGINS: `https://ok.example.com,${origin}` }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^BFF_ALLOWED_ORIGINS/);
    },
  );
});

describe('parseConfig: scopes, timeouts, other keys', () => {
  it.each(['profile email', 'openidx profile', 'OpenID'])('refuses scopes without openid: %s', (scopes) => {
    const problems = problemsOf(env({ BFF_SCOPES: scopes }));
    expect(problems).toEqual(['BFF_SCOPES must include "openid"']);
  });

  it('refuses a scope with a forbidden character', () => {
    expect(problemsOf(env({ BFF_SCOPES: 'openid pro"file' }))[0]).toMatch(/^BFF_SCOPES/);
  });

  it.each(['1.5', '5000.0', 'abc', '-1', '99', '120001', '1e3', '0x100', '5 000', '99999999999999999999'])('refuses BFF_IDP_TIMEOUT_MS=%s', (value) => {
    expect(problemsOf(env({ BFF_IDP_TIMEOUT_MS: value }))).toEqual(['BFF_IDP_TIMEOUT_MS must be an integer from 100 to 120000']);
  });

  it.each(['0', '600001'])('refuses BFF_UPSTREAM_TIMEOUT_MS=%s', (value) => {
    expect(problemsOf(env({ BFF_UPSTREAM_TIMEOUT_MS: value }))[0]).toMatch(/^BFF_UPSTREAM_TIMEOUT_MS/);
  });

  it.each(['bff', '/bff/../x', '/./bff', '/b ff', '/'])('refuses BFF_BASE_PATH=%s', (value) => {
    expect(problemsOf(env({ BFF_BASE_PATH: value }))[0]).toMatch(/^BFF_BASE_PATH/);
  });

  it('accepts a resource indicator and refuses one with a fragment', () => {
    expect(parseConfig(env({ BFF_RESOURCE: 'https://api.example.com' })).resource).toBe('https://api.example.com');
    expect(problemsOf(env({ BFF_RESOURCE: 'https://api.example.com#x' }))[0]).toMatch(/^BFF_RESOURCE/);
    expect(problemsOf(env({ BFF_RESOURCE: 'not a uri' }))[0]).toMatch(/^BFF_RESOURCE/);
  });

  it('refuses a post-logout redirect URI that is relative or has a fragment', () => {
    expect(problemsOf(env({ BFF_POST_LOGOUT_REDIRECT_URI: '/bye' }))[0]).toMatch(/^BFF_POST_LOGOUT_REDIRECT_URI/);
    expect(problemsOf(env({ BFF_POST_LOGOUT_REDIRECT_URI: 'https://app.example.com/#x' }))[0]).toMatch(/^BFF_POST_LOGOUT_REDIRECT_URI/);
    expect(problemsOf(env({ BFF_POST_LOGOUT_REDIRECT_URI: 'javascript:alert(1)' }))[0]).toMatch(/^BFF_POST_LOGOUT_REDIRECT_URI/);
  });
});

describe('parseConfig: several bad keys at once', () => {
  it('names every bad key in one error', () => {
    const error = configError({
      BFF_ISSUER: 'http://idp.example.com',
      BFF_CLIENT_ID: 'spa-bff',
      BFF_CLIENT_SECRET: 'client-secret-value',
      BFF_PUBLIC_URL: 'https://app.example.com/path',
      BFF_SESSION_SECRET: 'short-secret-zz',
      BFF_SCOPES: 'profile',
      BFF_ROUTES: '[',
      BFF_ALLOWED_ORIGINS: '*',
      BFF_IDP_TIMEOUT_MS: '1.5',
      BFF_UPSTREAM_TIMEOUT_MS: '10',
    });
    const keys = ['BFF_ISSUER', 'BFF_PUBLIC_URL', 'BFF_SESSION_SECRET', 'BFF_SCOPES', 'BFF_ROUTES', 'BFF_ALLOWED_ORIGINS', 'BFF_IDP_TIMEOUT_MS', 'BFF_UPSTREAM_TIMEOUT_MS'];
    expect(error.problems).toHaveLength(keys.length);
    for (const key of keys) expect(error.problems.some((p) => p.startsWith(key))).toBe(true);
    expect(error.problems.some((p) => p.startsWith('BFF_CLIENT_ID'))).toBe(false);
    expect(error.message).not.toContain('short-secret-zz');
    expect(error.message).not.toContain('client-secret-value');
  });
});

describe('isUnderPath', () => {
  it.each([
    ['/api', '/api', true],
    ['/api/x', '/api', true],
    ['/api/x/y', '/api', true],
    ['/apix', '/api', false],
    ['/ap', '/api', false],
    ['/', '/api', false],
    ['/api', '/api/x', false],
    ['/bff/callback', '/bff', true],
  ])('isUnderPath(%s, %s) = %s', (path, prefix, expected) => {
    expect(isUnderPath(path, prefix)).toBe(expected);
  });
});

describe('parseConfig: rate limits, proxies, metrics, log level', () => {
  it('defaults: 60 logins a minute per client, no session limit, no trusted proxy, metrics off, info logs', () => {
    const c = parseConfig(env());
    expect([c.rateLimitLoginPerMinute, c.rateLimitSessionPerMinute, c.trustProxyHops, c.metricsEnabled, c.logLevel]).toEqual([60, 0, 0, false, 'info']);
  });

  it('accepts the documented ranges (0 disables a limit)', () => {
    const c = parseConfig(env({ BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '0', BFF_RATE_LIMIT_SESSION_PER_MINUTE: '600', BFF_TRUST_PROXY: '10', BFF_METRICS: '1', BFF_LOG_LEVEL: 'WARN' }));
    expect([c.rateLimitLoginPerMinute, c.rateLimitSessionPerMinute, c.trustProxyHops, c.metricsEnabled, c.logLevel]).toEqual([0, 600, 10, true, 'warn']);
    expect(parseConfig(env({ BFF_METRICS: '0' })).metricsEnabled).toBe(false);
  });

  it.each(['-1', '11', '1.5', 'true', 'yes'])('refuses BFF_TRUST_PROXY=%s at startup', (value) => {
    expect(problemsOf(env({ BFF_TRUST_PROXY: value }))).toEqual(['BFF_TRUST_PROXY must be an integer from 0 to 10']);
  });

  it('names every bad key at once', () => {
    expect(problemsOf(env({ BFF_RATE_LIMIT_LOGIN_PER_MINUTE: 'lots', BFF_RATE_LIMIT_SESSION_PER_MINUTE: '-5', BFF_METRICS: 'on', BFF_LOG_LEVEL: 'verbose' }))).toEqual([
      'BFF_RATE_LIMIT_LOGIN_PER_MINUTE must be an integer from 0 to 1000000',
      'BFF_RATE_LIMIT_SESSION_PER_MINUTE must be an integer from 0 to 1000000',
      'BFF_METRICS must be 1 or 0',
      'BFF_LOG_LEVEL must be one of debug, info, warn, error',
    ]);
  });
});
