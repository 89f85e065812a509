/**
 * The callback refuses everything but the one legitimate answer to its own
 * login: no transaction, wrong or duplicated state, replays, wrong RFC 9207
 * `iss`, IdP errors, stale transactions. Failures redirect to
 * `/?bff_error=<code>`, set no session and consume the transaction.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../support/target.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { authorizeUntilCallback, bffCookieNames, CSRF } from '../support/harness.js';

let stack: Target;

beforeAll(async () => {
  stack = await startTarget();
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.idp.resetHits();
});

function expectLoginFailure(res: Response, code = 'login_failed'): void {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`${stack.bffUrl}/?bff_error=${code}`);
  expect(res.headers.getSetCookie().some((l) => l.startsWith('__Host-bff-session=') && !/Max-Age=0/.test(l))).toBe(false);
}

async function authenticated(browser: TestBrowser): Promise<boolean> {
  const res = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
  return (await res.json()).authenticated === true;
}

describe('callback', () => {
  it('without the transaction cookie → login_failed, no token request', async () => {
    const callback = await authorizeUntilCallback(new TestBrowser(), stack.bffUrl);
    const stranger = new TestBrowser();
    expectLoginFailure(await stranger.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    expect(await authenticated(stranger)).toBe(false);
  });

  it('with a missing state → login_failed', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    callback.searchParams.delete('state');
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('with a duplicated state → login_failed', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    callback.searchParams.append('state', callback.searchParams.get('state')!);
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('with a wrong state → login_failed', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    callback.searchParams.set('state', 'x'.repeat(43));
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('replayed → the second use fails and the first session stays valid', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    const first = await browser.fetch(callback);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe(`${stack.bffUrl}/`);
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(await authenticated(browser)).toBe(true);
  });

  it('with a wrong RFC 9207 iss → login_failed, no session', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    callback.searchParams.set('iss', 'https://evil.example');
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
  });

  it('without iss although the IdP advertises it → login_failed', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    callback.searchParams.delete('iss');
    expectLoginFailure(await browser.fetch(callback));
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('with a substituted code (from another login) → login_failed: PKCE binds the code to its transaction', async () => {
    const victim = new TestBrowser();
    const attacker = new TestBrowser();
    const victimCallback = await authorizeUntilCallback(victim, stack.bffUrl);
    const attackerCallback = await authorizeUntilCallback(attacker, stack.bffUrl, { user: 'bob' });
    victimCallback.searchParams.set('code', attackerCallback.searchParams.get('code')!);
    expectLoginFailure(await victim.fetch(victimCallback));
    expect(await authenticated(victim)).toBe(false);
  });

  it('with an IdP error carrying markup → generic login_failed, nothing echoed', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    const error = new URL(`${stack.bffUrl}/bff/callback`);
    error.searchParams.set('error', 'access_denied');
    error.searchParams.set('error_description', '<script>alert(1)</script>');
    error.searchParams.set('state', callback.searchParams.get('state')!);
    error.searchParams.set('iss', stack.idp.issuer);
    const res = await browser.fetch(error);
    expectLoginFailure(res);
    expect(await res.text()).toBe('');
    expect((await stack.logLines()).join('\n')).not.toContain('<script>');
  });

  it('after the transaction is older than 10 minutes → login_failed, no token request', async () => {
    const browser = new TestBrowser();
    const callback = await authorizeUntilCallback(browser, stack.bffUrl);
    await stack.advanceClock(601);
    try {
      expectLoginFailure(await browser.fetch(callback));
    } finally {
      await stack.advanceClock(-601);
    }
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('two tabs logging in at once both succeed', async () => {
    const browser = new TestBrowser();
    const first = await authorizeUntilCallback(browser, stack.bffUrl, { returnTo: '/one' });
    const second = await authorizeUntilCallback(browser, stack.bffUrl, { returnTo: '/two' });
    const r2 = await browser.fetch(second);
    expect(r2.headers.get('location')).toBe(`${stack.bffUrl}/two`);
    const r1 = await browser.fetch(first);
    expect(r1.headers.get('location')).toBe(`${stack.bffUrl}/one`);
    expect(await authenticated(browser)).toBe(true);
    expect(await bffCookieNames(browser, stack)).toEqual(['__Host-bff-session']);
  });

  it('many /bff/login calls keep at most 3 transaction cookies and leave the session cookie alone', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    for (let i = 0; i < 12; i++) {
      await stack.advanceClock(1);
      const res = await browser.fetch(`${stack.bffUrl}/bff/login`);
      expect(res.status).toBe(302);
    }
    const names = await bffCookieNames(browser, stack);
    expect(names.filter((n) => n.startsWith('__Host-bff-login.'))).toHaveLength(3);
    expect(names).toContain('__Host-bff-session');
    expect(await authenticated(browser)).toBe(true);
  });
});

describe('login while the IdP is unreachable', () => {
  it('redirects to /?bff_error=idp_unavailable and recovers once the IdP answers', async () => {
    const down = await startTarget();
    try {
      await down.setIdpDown(true);
      const browser = new TestBrowser();
      const res = await browser.fetch(`${down.bffUrl}/bff/login`);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`${down.bffUrl}/?bff_error=idp_unavailable`);
      expect(res.headers.getSetCookie()).toEqual([]);
      await down.setIdpDown(false);
      // Past the short hold during which a failed discovery is not retried.
      await down.advanceClock(2);
      const { finalUrl } = await loginThroughIdp(browser, down.bffUrl, { returnTo: '/back' });
      expect(finalUrl).toBe(`${down.bffUrl}/back`);
    } finally {
      await down.close();
    }
  });
});
