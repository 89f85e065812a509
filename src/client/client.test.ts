import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBffClient, type BffClient, type BffClientOptions } from './client.js';
import { BffError } from './errors.js';
import type { BffSession } from './session.js';

const ALICE = { authenticated: true, user: { sub: 'alice', name: 'Alice' }, accessTokenExpiresAt: 2_000_000_300, sessionExpiresAt: 2_000_003_600 } satisfies BffSession;

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const problem = (code: string, status: number, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify({ type: 'about:blank', title: code, status, code }), { status, headers: { 'content-type': 'application/problem+json', ...headers } });

/** A fetch that records what it was asked and answers from a queue. */
function fakeFetch(...answers: Array<Response | Error>) {
  const calls: Array<{ url: string; init: RequestInit; headers: Headers }> = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    calls.push({ url: input instanceof Request ? input.url : String(input), init, headers: new Headers(init.headers) });
    const answer = answers.shift() ?? json({ authenticated: false });
    if (answer instanceof Error) throw answer;
    return answer;
  });
  return { fetch, calls };
}

const clients: BffClient[] = [];
function client(options: BffClientOptions): BffClient {
  const created = createBffClient({ channelName: '', ...options });
  clients.push(created);
  return created;
}

afterEach(() => {
  for (const created of clients.splice(0)) created.close();
  vi.unstubAllGlobals();
});

describe('fetch', () => {
  it('adds x-csrf: 1, keeps the caller headers and options, and sends same-origin credentials by default', async () => {
    const { fetch, calls } = fakeFetch(json({ ok: true }));
    const bff = client({ fetch });
    const response = await bff.fetch('/api/notes', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-trace': 'abc' } });
    expect(await response.json()).toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe('/api/notes');
    expect(call?.init).toMatchObject({ method: 'POST', body: '{}', credentials: 'same-origin' });
    expect(Object.fromEntries(call?.headers ?? [])).toEqual({ 'content-type': 'application/json', 'x-trace': 'abc', 'x-csrf': '1' });
  });

  it('keeps the headers of a Request input', async () => {
    const { fetch, calls } = fakeFetch(json({}));
    await client({ fetch }).fetch(new Request('https://app.example/api/x', { headers: { accept: 'application/json' } }));
    expect(calls[0]?.headers.get('accept')).toBe('application/json');
    expect(calls[0]?.headers.get('x-csrf')).toBe('1');
  });

  it('resolves relative URLs against a cross-origin baseUrl and sends credentials: include', async () => {
    const { fetch, calls } = fakeFetch(json({}), json({}));
    const bff = client({ fetch, baseUrl: 'https://bff.example/' });
    await bff.fetch('/api/notes?x=1');
    await bff.fetch('https://other.example/y');
    expect(calls.map((c) => c.url)).toEqual(['https://bff.example/api/notes?x=1', 'https://other.example/y']);
    expect(calls.map((c) => c.init.credentials)).toEqual(['include', 'include']);
  });

  it('sends same-origin credentials when baseUrl is the page origin, and honours an explicit choice', async () => {
    vi.stubGlobal('location', { origin: 'https://app.example' });
    const { fetch, calls } = fakeFetch(json({}), json({}), json({}));
    await client({ fetch, baseUrl: 'https://app.example' }).fetch('/api/a');
    await client({ fetch, baseUrl: 'https://app.example', credentials: 'include' }).fetch('/api/b');
    await client({ fetch }).fetch('/api/c', { credentials: 'omit' });
    expect(calls.map((c) => c.init.credentials)).toEqual(['same-origin', 'include', 'omit']);
  });

  it('resolves non-problem errors as Responses', async () => {
    const { fetch } = fakeFetch(new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }));
    const response = await client({ fetch }).fetch('/api/x');
    expect(response.status).toBe(502);
  });

  it('throws a BffError with code, status, title and retryAfter for problem+json', async () => {
    const { fetch } = fakeFetch(problem('idp_unavailable', 503, { 'retry-after': '5' }));
    const error = await client({ fetch })
      .fetch('/api/x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffError);
    expect(error).toMatchObject({ code: 'idp_unavailable', status: 503, title: 'idp_unavailable', retryAfter: 5 });
  });

  it('turns a rejected fetch into network_error with status 0, keeping the cause', async () => {
    const cause = new TypeError('fetch failed');
    const { fetch } = fakeFetch(cause);
    const error = await client({ fetch })
      .fetch('/api/x')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BffError', code: 'network_error', status: 0, cause });
  });

  it("rethrows the caller's own abort unchanged", async () => {
    const controller = new AbortController();
    controller.abort();
    const { fetch } = fakeFetch(controller.signal.reason as Error);
    const error = await client({ fetch })
      .fetch('/api/x', { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(BffError);
    expect(error).toMatchObject({ name: 'AbortError' });
  });
});

describe('unauthenticated answers', () => {
  it.each(['unauthenticated', 'session_expired'])('%s: calls onUnauthenticated, signs the client out and emits session', async (code) => {
    const { fetch } = fakeFetch(json(ALICE), problem(code, 401));
    const onUnauthenticated = vi.fn();
    const bff = client({ fetch, onUnauthenticated });
    await bff.getSession();
    const sessions: BffSession[] = [];
    bff.on('session', (s) => sessions.push(s));
    const error = await bff.fetch('/api/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code, status: 401 });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    expect(onUnauthenticated).toHaveBeenCalledWith(error);
    expect(bff.session).toEqual({ authenticated: false });
    expect(sessions).toEqual([{ authenticated: false }]);
  });

  it.each([
    ['csrf_failed', 403],
    ['idp_unavailable', 503],
    ['upstream_timeout', 504],
  ])('%s: does not call onUnauthenticated nor change the session', async (code, status) => {
    const { fetch } = fakeFetch(json(ALICE), problem(code, status));
    const onUnauthenticated = vi.fn();
    const bff = client({ fetch, onUnauthenticated });
    await bff.getSession();
    await expect(bff.fetch('/api/x')).rejects.toMatchObject({ code });
    expect(onUnauthenticated).not.toHaveBeenCalled();
    expect(bff.session).toEqual(ALICE);
  });

  it('does not call onUnauthenticated for a network failure', async () => {
    const onUnauthenticated = vi.fn();
    await expect(client({ fetch: fakeFetch(new TypeError('fetch failed')).fetch, onUnauthenticated }).fetch('/api/x')).rejects.toMatchObject({ code: 'network_error' });
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });
});

describe('getSession and refresh', () => {
  it('GETs {basePath}/session with the CSRF header, parses it and emits session only when it changes', async () => {
    const { fetch, calls } = fakeFetch(json(ALICE), json(ALICE), json({ authenticated: false }));
    const bff = client({ fetch, basePath: '/auth' });
    const sessions: BffSession[] = [];
    const off = bff.on('session', (s) => sessions.push(s));
    expect(bff.session).toBeUndefined();
    expect(await bff.getSession()).toEqual(ALICE);
    expect(await bff.getSession()).toEqual(ALICE);
    expect(bff.session).toEqual(ALICE);
    expect(sessions).toEqual([ALICE]);
    off();
    expect(await bff.getSession()).toEqual({ authenticated: false });
    expect(sessions).toEqual([ALICE]);
    expect(calls.map((c) => [c.url, c.init.method, c.headers.get('x-csrf')])).toEqual(Array(3).fill(['/auth/session', 'GET', '1']));
  });

  it('POSTs {baseUrl}{basePath}/refresh and emits the new session', async () => {
    const refreshed = { ...ALICE, accessTokenExpiresAt: ALICE.accessTokenExpiresAt + 300 };
    const { fetch, calls } = fakeFetch(json(ALICE), json(refreshed));
    const bff = client({ fetch, baseUrl: 'https://bff.example' });
    const sessions: BffSession[] = [];
    bff.on('session', (s) => sessions.push(s));
    await bff.getSession();
    expect(await bff.refresh()).toEqual(refreshed);
    expect(sessions).toEqual([ALICE, refreshed]);
    expect(calls[1]).toMatchObject({ url: 'https://bff.example/bff/refresh', init: { method: 'POST', credentials: 'include' } });
  });

  it('refuses answers that are not a session as invalid_response, leaving the known session alone', async () => {
    const { fetch } = fakeFetch(
      json(ALICE),
      json({ authenticated: true, user: { name: 'no sub' }, accessTokenExpiresAt: 1, sessionExpiresAt: 2 }),
      new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } }),
      new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }),
    );
    const bff = client({ fetch });
    await bff.getSession();
    await expect(bff.getSession()).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
    await expect(bff.getSession()).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
    await expect(bff.refresh()).rejects.toMatchObject({ code: 'invalid_response', status: 502 });
    expect(bff.session).toEqual(ALICE);
  });

  it('signs out and calls onUnauthenticated when refresh answers session_expired', async () => {
    const { fetch } = fakeFetch(json(ALICE), problem('session_expired', 401));
    const onUnauthenticated = vi.fn();
    const bff = client({ fetch, onUnauthenticated });
    await bff.getSession();
    await expect(bff.refresh()).rejects.toMatchObject({ code: 'session_expired' });
    expect(bff.session).toEqual({ authenticated: false });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it('keeps delivering to the other listeners when one throws', async () => {
    vi.useFakeTimers();
    try {
      const { fetch } = fakeFetch(json(ALICE));
      const bff = client({ fetch });
      const seen = vi.fn();
      bff.on('session', () => {
        throw new Error('listener bug');
      });
      bff.on('session', seen);
      await expect(bff.getSession()).resolves.toEqual(ALICE);
      expect(seen).toHaveBeenCalledWith(ALICE);
      // The listener's error is rethrown on its own task, where the page's error reporting sees it.
      expect(() => vi.runOnlyPendingTimers()).toThrow('listener bug');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('logout', () => {
  it('POSTs {basePath}/logout, signs out, emits session and navigates to logoutUrl', async () => {
    const logoutUrl = 'https://idp.example/session/end?client_id=spa';
    const { fetch, calls } = fakeFetch(json(ALICE), json({ logoutUrl }));
    const navigate = vi.fn();
    const bff = client({ fetch, navigate });
    await bff.getSession();
    const sessions: BffSession[] = [];
    bff.on('session', (s) => sessions.push(s));
    await bff.logout();
    expect(calls[1]).toMatchObject({ url: '/bff/logout', init: { method: 'POST', credentials: 'same-origin' } });
    expect(calls[1]?.headers.get('x-csrf')).toBe('1');
    expect(bff.session).toEqual({ authenticated: false });
    expect(sessions).toEqual([{ authenticated: false }]);
    expect(navigate).toHaveBeenCalledWith(logoutUrl);
  });

  it.each(['javascript:alert(1)', '//evil.example/', 42])('refuses logoutUrl %s without navigating', async (logoutUrl) => {
    const navigate = vi.fn();
    const bff = client({ fetch: fakeFetch(json(ALICE), json({ logoutUrl })).fetch, navigate });
    await bff.getSession();
    await expect(bff.logout()).rejects.toMatchObject({ code: 'invalid_response' });
    expect(navigate).not.toHaveBeenCalled();
  });

  it('leaves the session alone when the logout call fails', async () => {
    const navigate = vi.fn();
    const bff = client({ fetch: fakeFetch(json(ALICE), problem('csrf_failed', 403)).fetch, navigate });
    await bff.getSession();
    await expect(bff.logout()).rejects.toMatchObject({ code: 'csrf_failed' });
    expect(bff.session).toEqual(ALICE);
    expect(navigate).not.toHaveBeenCalled();
  });
});

describe('login', () => {
  it('navigates to {baseUrl}{basePath}/login with the encoded returnTo', () => {
    const navigate = vi.fn();
    client({ navigate }).login('/notes?tag=a&b=c%20d#top');
    client({ navigate, baseUrl: 'https://bff.example', basePath: '/auth' }).login('/x');
    expect(navigate.mock.calls).toEqual([['/bff/login?returnTo=%2Fnotes%3Ftag%3Da%26b%3Dc%2520d%23top'], ['https://bff.example/auth/login?returnTo=%2Fx']]);
  });

  it.each(['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 'notes', '/a\nb', '/a b', ''])('refuses %j and sends / instead', (returnTo) => {
    const navigate = vi.fn();
    client({ navigate }).login(returnTo);
    expect(navigate).toHaveBeenCalledWith('/bff/login?returnTo=%2F');
  });

  it('returns to the current location by default', () => {
    vi.stubGlobal('location', { pathname: '/notes/7', search: '?edit=1', hash: '#title' });
    const navigate = vi.fn();
    client({ navigate }).login();
    expect(navigate).toHaveBeenCalledWith(`/bff/login?returnTo=${encodeURIComponent('/notes/7?edit=1#title')}`);
  });
});
