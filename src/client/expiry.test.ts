import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBffClient, type BffClient } from './client.js';
import { createExpiryTimers, type ExpiryInfo } from './expiry.js';
import type { BffSession } from './session.js';

const START = Date.UTC(2030, 0, 1); // ms; whole seconds, so expiry maths stays exact
const at = (seconds: number): number => START / 1000 + seconds;

const json = (body: unknown): Response => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
const session = (accessTokenIn: number, sessionIn: number, name = 'Alice'): BffSession => ({
  authenticated: true,
  user: { sub: 'alice', name },
  accessTokenExpiresAt: at(accessTokenIn),
  sessionExpiresAt: at(sessionIn),
});

let bff: BffClient | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(() => {
  bff?.close();
  bff = undefined;
  vi.useRealTimers();
});

/** A client whose BFF answers `answers` in order, recording every expiry event. */
function watch(...answers: Response[]) {
  const events: Array<[string, ExpiryInfo]> = [];
  bff = createBffClient({ channelName: '', now: () => Date.now(), fetch: async () => answers.shift() ?? json({ authenticated: false }) });
  bff.on('expiring', (info) => events.push(['expiring', info]));
  bff.on('expired', (info) => events.push(['expired', info]));
  return { client: bff, events };
}

describe('expiry events', () => {
  it("fires 'expiring' expiryWarningSeconds before and 'expired' at each expiry", async () => {
    const { client, events } = watch(json(session(300, 3600)));
    await client.getSession();
    await vi.advanceTimersByTimeAsync(240_000 - 1);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual([['expiring', { kind: 'accessToken', expiresAt: at(300), secondsLeft: 60 }]]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events.slice(1)).toEqual([['expired', { kind: 'accessToken', expiresAt: at(300), secondsLeft: 0 }]]);
    await vi.advanceTimersByTimeAsync(3_540_000 - 300_000);
    expect(events.slice(2)).toEqual([['expiring', { kind: 'session', expiresAt: at(3600), secondsLeft: 60 }]]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events.slice(3)).toEqual([['expired', { kind: 'session', expiresAt: at(3600), secondsLeft: 0 }]]);
  });

  it('honours expiryWarningSeconds', async () => {
    const events: string[] = [];
    bff = createBffClient({ channelName: '', expiryWarningSeconds: 10, fetch: async () => json(session(300, 3600)) });
    bff.on('expiring', ({ kind, secondsLeft }) => events.push(`${kind} ${secondsLeft}`));
    await bff.getSession();
    await vi.advanceTimersByTimeAsync(289_999);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['accessToken 10']);
  });

  it('re-arms on a refresh and warns once per expiry, however often the session changes', async () => {
    const { client, events } = watch(json(session(300, 3600)), json(session(300, 3600, 'Alice A.')), json(session(600, 3600)));
    await client.getSession();
    await vi.advanceTimersByTimeAsync(250_000);
    expect(events.map(([e, i]) => `${e} ${i.kind} ${i.expiresAt - at(0)}`)).toEqual(['expiring accessToken 300']);
    await client.getSession(); // claims changed, same expiry: no second warning
    await client.refresh(); // new access token: its own warning later, no 'expired' for the old one
    await vi.advanceTimersByTimeAsync(600_000 - 250_000);
    expect(events.map(([e, i]) => `${e} ${i.kind} ${i.expiresAt - at(0)}`)).toEqual(['expiring accessToken 300', 'expiring accessToken 600', 'expired accessToken 600']);
  });

  it('clears every timer on sign-out', async () => {
    const unauthenticated = new Response(JSON.stringify({ title: 'Not logged in', status: 401, code: 'unauthenticated' }), { status: 401, headers: { 'content-type': 'application/problem+json' } });
    const { client, events } = watch(json(session(300, 3600)), unauthenticated);
    await client.getSession();
    expect(vi.getTimerCount()).toBe(4);
    await expect(client.fetch('/api/x')).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(4_000_000);
    expect(events).toEqual([]);
  });

  it('close() clears the timers', async () => {
    const { client, events } = watch(json(session(300, 3600)));
    await client.getSession();
    client.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(4_000_000);
    expect(events).toEqual([]);
  });
});

describe('createExpiryTimers', () => {
  it('splits delays longer than setTimeout allows and still fires on time', async () => {
    const emit = vi.fn<(event: string, info: ExpiryInfo) => void>();
    const timers = createExpiryTimers(() => Date.now(), 60, emit);
    const thirtyDays = 30 * 86_400;
    timers.arm(session(thirtyDays, thirtyDays));
    await vi.advanceTimersByTimeAsync((thirtyDays - 60) * 1000 - 1);
    expect(emit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(emit.mock.calls.map(([event, info]) => `${event} ${info.kind}`)).toEqual(['expiring accessToken', 'expiring session']);
    timers.clear();
  });

  it('uses the injected clock, not the timer clock', async () => {
    // The page clock runs 100 s ahead of the timers (e.g. corrected for skew): events follow it.
    const emit = vi.fn();
    const timers = createExpiryTimers(() => Date.now() + 100_000, 60, emit);
    timers.arm(session(300, 3600));
    await vi.advanceTimersByTimeAsync(140_000);
    expect(emit).toHaveBeenCalledWith('expiring', { kind: 'accessToken', expiresAt: at(300), secondsLeft: 60 });
    timers.clear();
  });

  it("skips a warning that comes too late and reports 'expired' right away", async () => {
    const emit = vi.fn();
    const timers = createExpiryTimers(() => Date.now(), 60, emit);
    timers.arm(session(-5, 30));
    await vi.advanceTimersByTimeAsync(0);
    expect(emit.mock.calls).toEqual([
      ['expired', { kind: 'accessToken', expiresAt: at(-5), secondsLeft: 0 }],
      ['expiring', { kind: 'session', expiresAt: at(30), secondsLeft: 30 }],
    ]);
    timers.clear();
  });
});
