import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBffClient, type BffClient } from './client.js';
import type { BffSession } from './session.js';

const ALICE = { authenticated: true, user: { sub: 'alice', name: 'Alice' }, accessTokenExpiresAt: 2_000_000_300, sessionExpiresAt: 2_000_003_600 } satisfies BffSession;

const json = (body: unknown): Response => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
const problem = (code: string): Response => new Response(JSON.stringify({ title: code, status: 401, code }), { status: 401, headers: { 'content-type': 'application/problem+json' } });

/** BroadcastChannel delivers on a later task: give it a bounded number of turns. */
async function settle(done: () => boolean = () => false, turns = 20): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

let channelName = '';
const opened: Array<{ close(): void }> = [];
function tab(...answers: Response[]): BffClient {
  const client = createBffClient({ channelName, fetch: async () => answers.shift() ?? json({ authenticated: false }), navigate: () => {} });
  opened.push(client);
  return client;
}
/** A raw listener on the channel, to see exactly what travels. */
function eavesdrop(): unknown[] {
  const seen: unknown[] = [];
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (event: MessageEvent<unknown>) => seen.push(event.data);
  opened.push(channel);
  return seen;
}

afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

describe('cross-tab sync', () => {
  // A fresh name per test keeps tests (and parallel test files) from hearing each other.
  const fresh = () => (channelName = `hono-bff-test-${Math.random().toString(36).slice(2)}`);

  it('logout in one tab signs the other out and emits session there, without a reload', async () => {
    fresh();
    const a = tab(json(ALICE), json({ logoutUrl: 'https://idp.example/end' }));
    const b = tab(json(ALICE));
    await a.getSession();
    await b.getSession();
    const seenByB: BffSession[] = [];
    b.on('session', (s) => seenByB.push(s));
    await a.logout();
    await settle(() => seenByB.length > 0);
    expect(b.session).toEqual({ authenticated: false });
    expect(seenByB).toEqual([{ authenticated: false }]);
  });

  it('shares a new session with the other tabs; the receiver does not send it back', async () => {
    fresh();
    const seen = eavesdrop();
    const a = tab(json(ALICE));
    const b = tab();
    const seenByA: BffSession[] = [];
    const seenByB: BffSession[] = [];
    a.on('session', (s) => seenByA.push(s));
    b.on('session', (s) => seenByB.push(s));
    await a.getSession();
    await settle(() => seenByB.length > 0);
    expect(b.session).toEqual(ALICE);
    expect(seenByB).toEqual([ALICE]);
    await settle();
    // Exactly the public view, exactly once: no echo from b, no second event in a.
    expect(seen).toEqual([{ type: 'session', session: ALICE }]);
    expect(seenByA).toEqual([ALICE]);
  });

  it('does not broadcast a session that did not change', async () => {
    fresh();
    const seen = eavesdrop();
    const a = tab(json(ALICE), json(ALICE));
    await a.getSession();
    await a.getSession();
    await settle(() => seen.length > 1);
    expect(seen).toHaveLength(1);
  });

  it('broadcasts logout when a call answers session_expired', async () => {
    fresh();
    const seen = eavesdrop();
    const a = tab(json(ALICE), problem('session_expired'));
    const b = tab();
    await a.getSession();
    await settle(() => b.session !== undefined);
    await expect(a.fetch('/api/notes')).rejects.toMatchObject({ code: 'session_expired' });
    await settle(() => b.session?.authenticated === false);
    expect(b.session).toEqual({ authenticated: false });
    expect(seen).toEqual([{ type: 'session', session: ALICE }, { type: 'logout' }]);
  });

  it('ignores malformed messages', async () => {
    fresh();
    const b = tab(json(ALICE));
    await b.getSession();
    const listener = vi.fn();
    b.on('session', listener);
    const sender = new BroadcastChannel(channelName);
    opened.push(sender);
    for (const message of [null, 'logout', { type: 'session' }, { type: 'session', session: { authenticated: true, user: {} } }, { type: 'other' }]) sender.postMessage(message);
    sender.postMessage({ type: 'logout' });
    await settle(() => listener.mock.calls.length > 0);
    // Only the last, valid message had an effect.
    expect(listener.mock.calls).toEqual([[{ authenticated: false }]]);
  });

  it("channelName '' disables sync: no channel is opened", async () => {
    const opens = vi.fn();
    vi.stubGlobal('BroadcastChannel', opens);
    try {
      channelName = '';
      const a = tab(json(ALICE), json({ logoutUrl: '/' }));
      await a.getSession();
      await a.logout();
      expect(opens).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('close() leaves the channel', async () => {
    fresh();
    const a = tab(json(ALICE), json({ logoutUrl: '/' }));
    const b = tab(json(ALICE));
    await a.getSession();
    await b.getSession();
    b.close();
    await a.logout();
    await settle();
    expect(b.session).toEqual(ALICE);
  });
});
