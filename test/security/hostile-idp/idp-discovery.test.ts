/**
 * A hostile or broken discovery document: another `issuer` than the one the
 * BFF is configured with (an OP impersonating another, or a misrouted
 * proxy), an HTML page, or no answer at all. `/bff/login` must fail cleanly
 * (302 to `/?bff_error=idp_unavailable`, no login-transaction cookie, the
 * browser never sent to an authorization endpoint), quickly, and the BFF
 * must keep serving its other endpoints meanwhile.
 *
 * Each test gets a fresh BFF (a successful discovery is cached for the
 * process); the hostile IdP is shared.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBrowser } from '../../support/browser.js';
import { CSRF } from '../../support/harness.js';
import { attemptLogin, expectLoginRefused, expectLoginSucceeded, sessionView, startBffAgainst, startHostileIdp, type BffUnderTest, type HostileIdp, until } from '../../support/hostile-idp.js';

const DISCOVERY = '/.well-known/openid-configuration';
/** The BFF's hold on a failed discovery (src/oidc/discovery.ts FAILURE_HOLD_MS), plus margin. */
const AFTER_FAILURE_HOLD_MS = 1100;

let idp: HostileIdp;
let bff: BffUnderTest;

beforeAll(async () => {
  idp = await startHostileIdp();
});
afterAll(async () => {
  await idp?.close();
});
beforeEach(async () => {
  idp.reset();
  bff = await startBffAgainst(idp);
});
afterEach(async () => {
  await bff?.close();
});

/** `/bff/login` refused as idp_unavailable: no IdP redirect, no cookie of any kind, nothing usable. */
async function expectLoginUnavailable(browser: TestBrowser): Promise<void> {
  const started = performance.now();
  const attempt = await attemptLogin(browser, bff, idp);
  expect(performance.now() - started).toBeLessThan(3000);
  expect(attempt.reachedIdp).toBe(false);
  expect(attempt.status).toBe(302);
  expect(attempt.location).toBe(`${bff.url}/?bff_error=idp_unavailable`);
  expect(attempt.response.headers.getSetCookie()).toEqual([]);
  expect(await browser.cookies(bff.url)).toEqual([]);
  expect(idp.hits['/authorize']).toBe(0);
  expect(idp.hits['/token']).toBe(0);
  expect(await sessionView(browser, bff)).toEqual({ authenticated: false });
  const api = await browser.fetch(`${bff.url}/api/x`, { headers: CSRF });
  expect(api.status).toBe(401);
  expect(((await api.json()) as { code?: string }).code).toBe('unauthenticated');
  expect(bff.upstream.hits).toBe(0);
  expect(bff.logs.filter((l) => l.includes('"request.crashed"'))).toEqual([]);
}

async function healthz(): Promise<number> {
  const res = await fetch(`${bff.url}/bff/healthz`);
  await res.body?.cancel();
  return res.status;
}

describe('hostile IdP: discovery', () => {
  it('a discovery document naming another issuer makes /bff/login fail with idp_unavailable, and healthz still answers', async () => {
    idp.script.discoveryIssuer = 'https://evil.example';
    await expectLoginUnavailable(new TestBrowser());
    expect(idp.hits[DISCOVERY]).toBe(1);
    expect(idp.hits['/jwks']).toBe(0);
    expect(await healthz()).toBe(200);
    // Within the failure hold, a second login fails the same way without asking the IdP again.
    await expectLoginUnavailable(new TestBrowser());
    expect(idp.hits[DISCOVERY]).toBe(1);
    const failures = bff.logs.filter((l) => l.includes('"login.failed"'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED');
  });

  it('a discovery document naming another tenant of the same host (issuer path differs) is refused', async () => {
    idp.script.discoveryIssuer = `${idp.issuer}/tenant-b`;
    await expectLoginUnavailable(new TestBrowser());
    expect(idp.hits[DISCOVERY]).toBe(1);
  });

  it('a discovery issuer with a trailing slash passes discovery (same URL once normalised) but the login still fails at the callback', async () => {
    // oauth4webapi compares the discovery issuer as a normalised URL ("http://h:p" equals "http://h:p/"),
    // but the RFC 9207 iss parameter and the ID token's iss as exact strings: the slash-less ones
    // the IdP actually sends no longer match, so the login is refused (later, as login_failed).
    idp.script.discoveryIssuer = `${idp.issuer}/`;
    const browser = new TestBrowser();
    const attempt = await attemptLogin(browser, bff, idp);
    expect(attempt.reachedIdp).toBe(true);
    await expectLoginRefused(attempt, 'login_failed', { browser, bff, idp });
    expect(idp.hits['/token']).toBe(0);
  });

  it('after the IdP corrects its discovery document the BFF recovers by itself', async () => {
    idp.script.discoveryIssuer = 'https://evil.example';
    await expectLoginUnavailable(new TestBrowser());
    idp.script.discoveryIssuer = undefined;
    await new Promise((resolve) => setTimeout(resolve, AFTER_FAILURE_HOLD_MS));
    const browser = new TestBrowser();
    await expectLoginSucceeded(await attemptLogin(browser, bff, idp), { browser, bff, idp });
    expect(idp.hits[DISCOVERY]).toBe(2);
  });

  it('a discovery endpoint answering an HTML page makes /bff/login fail with idp_unavailable', async () => {
    idp.script.discovery = 'html-200';
    await expectLoginUnavailable(new TestBrowser());
    expect(idp.hits[DISCOVERY]).toBe(1);
  });

  it('a discovery endpoint that never answers makes /bff/login fail with idp_unavailable within the IdP timeout, and healthz answers meanwhile', async () => {
    idp.script.discovery = 'stall';
    const browser = new TestBrowser();
    const login = expectLoginUnavailable(browser);
    // While the discovery request hangs (800 ms timeout), the BFF answers healthz, and the
    // discovery request is still hanging once it has (so healthz was not queued behind it).
    await until(() => idp.pendingResponses() === 1, 700, 'the stalled IdP request');
    expect(await healthz()).toBe(200);
    expect(idp.pendingResponses()).toBe(1);
    await login;
    expect(idp.hits[DISCOVERY]).toBe(1);
  });
});
