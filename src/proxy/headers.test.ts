import { describe, it, expect } from 'vitest';
import {
  buildUpstreamRequestHeaders,
  filterUpstreamResponseHeaders,
  isForwardablePath,
  matchRoute,
  rewriteUpstreamLocation,
  stripHopByHopHeaders,
  upstreamUrl,
  type ForwardingContext,
} from './headers.js';
import { DEFAULT_ROUTE_METHODS, parseConfig, type RouteConfig } from '../config.js';

const PUBLIC_ORIGIN = 'https://app.example.com';
const API: RouteConfig = { prefix: '/api', target: 'http://127.0.0.1:4000/api', targetOrigin: 'http://127.0.0.1:4000', methods: DEFAULT_ROUTE_METHODS, scopes: [], token: 'access', timeoutMs: 30000 };
const ROOT_TARGET: RouteConfig = { prefix: '/files', target: 'https://files.internal:8443', targetOrigin: 'https://files.internal:8443', methods: DEFAULT_ROUTE_METHODS, scopes: [], token: 'access', timeoutMs: 30000 };

const CONTEXT: ForwardingContext = { accessToken: 'access-token-value', clientAddress: '203.0.113.7', publicOrigin: PUBLIC_ORIGIN };

function browserHeaders(extra: Record<string, string> = {}): Headers {
  return new Headers({
    host: 'attacker-controlled.example',
    cookie: '__Host-bff-session=sealed; other=1',
    authorization: 'Basic Zm9vOmJhcg==',
    forwarded: 'for=1.2.3.4;proto=http;host=evil',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'http',
    'x-forwarded-port': '80',
    'x-forwarded-prefix': '/admin',
    'x-real-ip': '6.6.6.6',
    'x-client-ip': '6.6.6.6',
    'true-client-ip': '6.6.6.6',
    'cf-connecting-ip': '6.6.6.6',
    'x-csrf': '1',
    connection: 'keep-alive, X-Hop-Secret',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-checksum',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic cHJveHk6cHc=',
    'proxy-connection': 'keep-alive',
    'x-hop-secret': 'should-not-pass',
    'content-type': 'application/json',
    accept: 'application/json',
    'accept-language': 'de',
    'x-app-version': '1.2.3',
    'x-app-trace': 'abc',
    'if-none-match': '"etag"',
    ...extra,
  });
}

const REMOVED = [
  'host',
  'cookie',
  'forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-csrf',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-connection',
  'x-hop-secret',
];

describe('buildUpstreamRequestHeaders', () => {
  const out = buildUpstreamRequestHeaders(browserHeaders(), CONTEXT);

  it.each(REMOVED)('removes %s', (name) => {
    expect(out.has(name)).toBe(false);
  });

  it('replaces the browser authorization with the bearer token', () => {
    expect(out.get('authorization')).toBe('Bearer access-token-value');
  });

  it('sets x-forwarded-proto/host from the public origin, not from the Host header', () => {
    expect(out.get('x-forwarded-proto')).toBe('https');
    expect(out.get('x-forwarded-host')).toBe('app.example.com');
    const withPort = buildUpstreamRequestHeaders(browserHeaders(), { ...CONTEXT, publicOrigin: 'http://localhost:3000' });
    expect(withPort.get('x-forwarded-proto')).toBe('http');
    expect(withPort.get('x-forwarded-host')).toBe('localhost:3000');
  });

  it('sets x-forwarded-for to the known client address only, replacing the browser claim', () => {
    expect(out.get('x-forwarded-for')).toBe('203.0.113.7');
    const unknown = buildUpstreamRequestHeaders(browserHeaders(), { ...CONTEXT, clientAddress: undefined });
    expect(unknown.has('x-forwarded-for')).toBe(false);
    const empty = buildUpstreamRequestHeaders(browserHeaders(), { ...CONTEXT, clientAddress: '' });
    expect(empty.has('x-forwarded-for')).toBe(false);
  });

  it('keeps content-type, accept and custom application headers', () => {
    expect(out.get('content-type')).toBe('application/json');
    expect(out.get('accept')).toBe('application/json');
    expect(out.get('accept-language')).toBe('de');
    expect(out.get('x-app-version')).toBe('1.2.3');
    expect(out.get('x-app-trace')).toBe('abc');
    expect(out.get('if-none-match')).toBe('"etag"');
  });

  it('sends exactly the expected header set', () => {
    expect([...out.keys()].sort()).toEqual(
      ['accept', 'accept-language', 'authorization', 'content-type', 'if-none-match', 'x-app-trace', 'x-app-version', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'].sort(),
    );
  });

  it('sends no authorization at all for a public route (no access token)', () => {
    const publicOut = buildUpstreamRequestHeaders(browserHeaders(), { ...CONTEXT, accessToken: undefined });
    expect(publicOut.has('authorization')).toBe(false);
  });

  it('removes every header named in Connection, case-insensitively', () => {
    const h = buildUpstreamRequestHeaders(new Headers({ connection: 'Upgrade,  X-App-Internal ,x-other', 'x-app-internal': '1', 'X-Other': '2', 'x-app-keep': '3' }), CONTEXT);
    expect(h.has('x-app-internal')).toBe(false);
    expect(h.has('x-other')).toBe(false);
    expect(h.get('x-app-keep')).toBe('3');
  });

  it('does not modify the incoming headers', () => {
    const incoming = browserHeaders();
    const before = [...incoming.entries()];
    buildUpstreamRequestHeaders(incoming, CONTEXT);
    expect([...incoming.entries()]).toEqual(before);
  });

  // Regression: empty `Connection` list elements (RFC 9110 5.6.1) made Headers#delete('') throw,
  // which turned the proxied request into a 502.
  it('accepts empty and invalid elements in the Connection list (RFC 9110 5.6.1)', () => {
    for (const connection of ['keep-alive, x-hop, ', 'close,,x-hop', ', x-hop', 'foo bar, x-hop']) {
      const h = buildUpstreamRequestHeaders(new Headers({ connection, 'x-hop': '1', accept: 'text/plain' }), CONTEXT);
      expect(h.has('x-hop')).toBe(false);
      expect(h.get('accept')).toBe('text/plain');
    }
  });
});

describe('filterUpstreamResponseHeaders', () => {
  function upstreamHeaders(): Headers {
    const h = new Headers({
      'content-type': 'application/json',
      'cache-control': 'private, max-age=0',
      etag: '"v1"',
      connection: 'keep-alive, X-Upstream-Hop',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'proxy-authenticate': 'Basic',
      trailer: 'x-sum',
      upgrade: 'h2c',
      'x-upstream-hop': 'secret',
      'x-request-id': 'r-1',
    });
    h.append('set-cookie', 'upstream=1; Path=/');
    h.append('set-cookie', 'other=2; Path=/');
    return h;
  }

  it('drops set-cookie and hop-by-hop headers, keeps the rest', () => {
    const out = filterUpstreamResponseHeaders(upstreamHeaders(), API);
    expect(out.getSetCookie()).toEqual([]);
    expect(out.has('set-cookie')).toBe(false);
    for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'proxy-authenticate', 'trailer', 'upgrade', 'x-upstream-hop']) expect(out.has(name)).toBe(false);
    expect(out.get('content-type')).toBe('application/json');
    expect(out.get('cache-control')).toBe('private, max-age=0');
    expect(out.get('etag')).toBe('"v1"');
    expect(out.get('x-request-id')).toBe('r-1');
  });

  it('rewrites a Location back into the route', () => {
    const out = filterUpstreamResponseHeaders(new Headers({ location: 'http://127.0.0.1:4000/api/items/7?x=1' }), API);
    expect(out.get('location')).toBe('/api/items/7?x=1');
  });

  it('leaves a foreign Location alone', () => {
    const out = filterUpstreamResponseHeaders(new Headers({ location: 'https://idp.example.com/login' }), API);
    expect(out.get('location')).toBe('https://idp.example.com/login');
  });

  it('does not modify the upstream headers', () => {
    const upstream = upstreamHeaders();
    filterUpstreamResponseHeaders(upstream, API);
    expect(upstream.getSetCookie()).toHaveLength(2);
    expect(upstream.has('connection')).toBe(true);
  });
});

describe('stripHopByHopHeaders', () => {
  it('removes the fixed list and the named headers in place', () => {
    const h = new Headers({ connection: 'x-a', 'x-a': '1', te: 'trailers', 'x-b': '2' });
    stripHopByHopHeaders(h);
    expect([...h.keys()]).toEqual(['x-b']);
  });
});

describe('rewriteUpstreamLocation', () => {
  it.each([
    ['http://127.0.0.1:4000/api/x?y', '/api/x?y'],
    ['http://127.0.0.1:4000/api', '/api'],
    ['http://127.0.0.1:4000/api/', '/api/'],
    ['http://127.0.0.1:4000/api/x#frag', '/api/x#frag'],
    ['/api/x?y=1', '/api/x?y=1'],
    ['x/y', '/api/x/y'],
    ['//127.0.0.1:4000/api/z', '/api/z'],
  ])('maps %s to %s', (location, expected) => {
    expect(rewriteUpstreamLocation(location, API)).toBe(expected);
  });

  it.each([
    'https://evil.example.com/api/x',
    'http://127.0.0.1:4001/api/x',
    'https://127.0.0.1:4000/api/x',
    'http://localhost:4000/api/x',
    'http://127.0.0.1:4000/apix',
    'http://127.0.0.1:4000/other',
    '/other/path',
    'mailto:someone@example.com',
  ])('leaves %s alone', (location) => {
    expect(rewriteUpstreamLocation(location, API)).toBe(location);
  });

  it('maps a target without path onto the prefix', () => {
    expect(rewriteUpstreamLocation('https://files.internal:8443/a/b?c', ROOT_TARGET)).toBe('/files/a/b?c');
    expect(rewriteUpstreamLocation('https://files.internal:8443/', ROOT_TARGET)).toBe('/files/');
    expect(rewriteUpstreamLocation('https://elsewhere.internal/a', ROOT_TARGET)).toBe('https://elsewhere.internal/a');
  });

  it('returns an unparsable location unchanged', () => {
    expect(rewriteUpstreamLocation('http://[::1', API)).toBe('http://[::1');
  });
});

describe('matchRoute', () => {
  const routes = parseConfig({
    BFF_ISSUER: 'https://idp.example.com',
    BFF_CLIENT_ID: 'c',
    BFF_CLIENT_SECRET: 's',
    BFF_PUBLIC_URL: PUBLIC_ORIGIN,
    BFF_SESSION_SECRET: 'x'.repeat(32),
    BFF_ROUTES: JSON.stringify({ '/api': 'https://api.example.com', '/api/v2': 'https://v2.example.com', '/apiary': 'https://bees.example.com' }),
  }).routes;

  it.each([
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/api/users', '/api'],
    ['/api/v2', '/api/v2'],
    ['/api/v2/users', '/api/v2'],
    ['/api/v20', '/api'],
    ['/api/v2x/users', '/api'],
    ['/apiary/hive', '/apiary'],
  ])('%s → %s', (path, prefix) => {
    expect(matchRoute(routes, path)?.prefix).toBe(prefix);
  });

  it.each(['/apix', '/ap', '/', '/API', '/bff/session', '/x/api', ''])('%j → no route', (path) => {
    expect(matchRoute(routes, path)).toBeUndefined();
  });

  it('returns undefined with no routes', () => {
    expect(matchRoute([], '/api')).toBeUndefined();
  });
});

describe('isForwardablePath', () => {
  it.each(['/api/users', '/api/a.b/c', '/api/%20x', '/api/%41', '/api/~x', '/api/a%2Bb', '/api'])('%s is forwardable', (path) => {
    expect(isForwardablePath(path)).toBe(true);
  });

  it.each(['/api/%2e%2e/admin', '/api/%2E%2E/admin', '/api/..%2fadmin', '/api/..%2Fadmin', '/api/%2f', '/api/%5c', '/api/%5C..', '/api/a\\b', '/api\\..\\admin', '/api/.%2e/x', '/api/%2E'])(
    '%s is refused',
    (path) => {
      expect(isForwardablePath(path)).toBe(false);
    },
  );
});

describe('upstreamUrl', () => {
  it('replaces the prefix with the target and keeps the query', () => {
    expect(upstreamUrl(API, '/api/users/7', '?page=2&q=a%20b')).toBe('http://127.0.0.1:4000/api/users/7?page=2&q=a%20b');
    expect(upstreamUrl(API, '/api', '')).toBe('http://127.0.0.1:4000/api');
    expect(upstreamUrl(API, '/api/', '?x')).toBe('http://127.0.0.1:4000/api/?x');
    expect(upstreamUrl(ROOT_TARGET, '/files/a/b', '?c=d')).toBe('https://files.internal:8443/a/b?c=d');
    expect(upstreamUrl({ prefix: '/v', target: 'https://up.example.com/base/v1', targetOrigin: 'https://up.example.com', methods: DEFAULT_ROUTE_METHODS, scopes: [], token: 'access', timeoutMs: 30000 }, '/v/x', '')).toBe('https://up.example.com/base/v1/x');
  });

  it('produces a URL on the target origin', () => {
    expect(new URL(upstreamUrl(API, '/api/@evil.com', '')).origin).toBe(API.targetOrigin);
    expect(new URL(upstreamUrl(ROOT_TARGET, '/files/@evil.com', '')).origin).toBe(ROOT_TARGET.targetOrigin);
  });
});
