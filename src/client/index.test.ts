import { afterEach, describe, expect, it, vi } from 'vitest';

/** Counts BroadcastChannels opened and closed while stubbed in as the global. */
function stubChannels() {
  const opened: string[] = [];
  const closed: string[] = [];
  class CountingChannel extends BroadcastChannel {
    constructor(name: string) {
      super(name);
      opened.push(name);
    }
    override close(): void {
      closed.push(this.name);
      super.close();
    }
  }
  vi.stubGlobal('BroadcastChannel', CountingChannel);
  return { opened, closed };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('hono-bff/client entry', () => {
  it('does nothing on import: no BroadcastChannel, no fetch', async () => {
    const channels = stubChannels();
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    vi.resetModules();
    const client = await import('./index.js');
    expect(Object.keys(client).sort()).toEqual(['BffError', 'bffFetch', 'configureBff', 'createBffClient', 'getSession', 'login', 'logout', 'refresh']);
    expect(channels.opened).toEqual([]);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('creates the default client on first use (same origin, /bff, x-csrf) and only once', async () => {
    const channels = stubChannels();
    const fetch = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => new Response(JSON.stringify({ authenticated: false }), { headers: { 'content-type': 'application/json' } }));
    vi.stubGlobal('fetch', fetch);
    vi.resetModules();
    const { bffFetch, getSession, configureBff } = await import('./index.js');
    await bffFetch('/api/notes');
    expect(await getSession()).toEqual({ authenticated: false });
    expect(channels.opened).toEqual(['hono-bff']);
    expect(fetch.mock.calls.map(([url, init]) => [url, init?.credentials, new Headers(init?.headers).get('x-csrf')])).toEqual([
      ['/api/notes', 'same-origin', '1'],
      ['/bff/session', 'same-origin', '1'],
    ]);
    configureBff({ channelName: '' }).close();
  });

  it('configureBff replaces the default client and closes the old one', async () => {
    const channels = stubChannels();
    const navigate = vi.fn();
    vi.resetModules();
    const { configureBff, login } = await import('./index.js');
    const first = configureBff({ channelName: 'one', navigate });
    login('/a');
    const second = configureBff({ channelName: 'two', basePath: '/auth', navigate });
    expect(second).not.toBe(first);
    expect(channels.closed).toEqual(['one']);
    login('/b');
    expect(navigate.mock.calls).toEqual([['/bff/login?returnTo=%2Fa'], ['/auth/login?returnTo=%2Fb']]);
    second.close();
    expect(channels.closed).toEqual(['one', 'two']);
  });
});
