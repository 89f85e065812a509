/**
 * Leaks: a complete session lifecycle (login, session, proxied GET/POST,
 * explicit and proxy-triggered refresh, refusals and upstream errors, a
 * refresh refused by the IdP, a failed callback, logout) through one browser
 * whose every response is recorded, then a search of every response header,
 * body and log line for every token issued, the client secret, the session
 * secret and the PKCE verifiers.
 *
 * The one documented exception: the ID token as `id_token_hint` inside the
 * `logoutUrl` of the logout answer (OIDC RP-initiated logout).
 *
 * Failures name the secret and the place, never the value.
 *
 * Complements test/integration/core-flow.test.ts (the happy path's view,
 * proxied answer and logs) and test/integration/proxy.test.ts (proxied
 * answers never carry the access token).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/session/seal.js';
import type { SessionData } from '../../src/session/session.js';
import type { LoginTransaction } from '../../src/session/transaction.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { authorizeUntilCallback, CSRF, revokeAtIdp, sessionInBrowser } from '../support/harness.js';
import { configSecrets, findLeaks, haystacksOf, parseSetCookie, recordResponses, type RecordedResponse, type SecretMap } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const SESSION = '__Host-bff-session';

let stack: Target;
let records: RecordedResponse[];
let logLines: string[];
/** Every token issued during the run, by label. */
const tokens: SecretMap = {};
/** Values that must stay out of the logs but may legitimately appear in responses (cookie seals, codes). */
const logOnlySecrets: SecretMap = {};
/** The ID token of the session that logged out (the documented exception). */
let loggedOutIdToken: string;

let offset = 0;
const nowSeconds = () => Math.floor(Date.now() / 1000) + offset;
const advance = async (seconds: number) => {
  offset += seconds;
  await stack.advanceClock(seconds);
};

function addTokens(label: string, session: SessionData | undefined): void {
  if (!session) throw new Error(`no session for ${label}`);
  const known = new Set(Object.values(tokens));
  for (const [kind, value] of [['at', session.at], ['rt', session.rt], ['idt', session.idt]] as const) {
    if (value && !known.has(value)) tokens[`${label}.${kind}`] = value;
  }
}

beforeAll(async () => {
  stack = await startTarget({ apiRoutes: (api) => ({ '/api': `${api}/api`, '/down': 'http://127.0.0.1:9/' }) });
  const browser = new TestBrowser();
  const recorder = recordResponses(browser);
  records = recorder.records;
  const bff = stack.bffUrl;
  const get = (path: string, headers: Record<string, string> = CSRF) => browser.fetch(`${bff}${path}`, { headers });
  const post = (path: string, body?: string, headers: Record<string, string> = { ...CSRF, 'content-type': 'application/json' }) => browser.fetch(`${bff}${path}`, { method: 'POST', headers, body });
  const expectStatus = async (res: Promise<Response>, status: number) => expect((await res).status).toBe(status);

  // Before login.
  await expectStatus(get('/bff/session'), 200);
  await expectStatus(get('/api/me'), 401);

  // Login and use the session.
  await loginThroughIdp(browser, bff, { returnTo: '/notes' });
  addTokens('login', await sessionInBrowser(browser, stack, nowSeconds()));
  await expectStatus(get('/bff/session'), 200);
  await expectStatus(get('/api/me'), 200);
  await expectStatus(post('/api/notes', JSON.stringify({ text: 'secret plans' })), 201);
  await expectStatus(get('/api/notes'), 200);
  await expectStatus(post('/api/echo', 'echo me', { ...CSRF, 'content-type': 'text/plain' }), 200);
  await expectStatus(get('/api/large?bytes=2048'), 200);

  // Explicit refresh, then a refresh triggered by the proxy.
  await expectStatus(post('/bff/refresh'), 200);
  addTokens('explicit-refresh', await sessionInBrowser(browser, stack, nowSeconds()));
  const beforeProxyRefresh = (await sessionInBrowser(browser, stack, nowSeconds()))!;
  await advance(beforeProxyRefresh.atExp! - nowSeconds() - 30);
  await expectStatus(get('/api/me'), 200);
  const refreshed = (await sessionInBrowser(browser, stack, nowSeconds()))!;
  expect(refreshed.at).not.toBe(beforeProxyRefresh.at);
  addTokens('proxy-refresh', refreshed);

  // Refusals and upstream errors.
  await expectStatus(get('/api/me', {}), 403);
  await expectStatus(get('/api/me', { ...CSRF, origin: 'https://evil.test' }), 403);
  await expectStatus(get('/nope'), 404);
  await expectStatus(get('/api/nope'), 404);
  await expectStatus(get('/down/x'), 502);
  await expectStatus(get('/api/status/500'), 500);
  await expectStatus(get('/api/status/401'), 401);
  await expectStatus(get('/api/redirect'), 302);
  await expectStatus(get('/bff/logout'), 405);
  // A forged copy of the cookie, from another (recorded) browser, so the first keeps its session.
  const sealed = (await browser.cookies(bff)).find((c) => c.key === SESSION)!.value;
  const i = Math.floor(sealed.length / 2);
  const forger = new TestBrowser();
  const forgerRecorder = recordResponses(forger);
  expect((await forger.fetch(`${bff}/api/me`, { headers: { ...CSRF, cookie: `${SESSION}=${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}` } })).status).toBe(401);
  forgerRecorder.stop();

  // A refresh the IdP refuses (grant revoked elsewhere) → session_expired.
  const current = (await sessionInBrowser(browser, stack, nowSeconds()))!;
  addTokens('retry-after-401', current);
  expect((await revokeAtIdp(stack, current.rt!)).status).toBe(200);
  await advance(current.atExp! - nowSeconds() + 1);
  const expired = await get('/api/me');
  expect(expired.status).toBe(401);
  expect((await expired.clone().json()).code).toBe('session_expired');

  // A failed callback (state altered), then a new login.
  const callback = await authorizeUntilCallback(browser, bff);
  callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
  await expectStatus(browser.fetch(callback), 302);
  await expectStatus(get(`/bff/callback?error=access_denied&error_description=${encodeURIComponent('<script>x</script>')}&state=abc`), 302);
  await loginThroughIdp(browser, bff);
  const last = (await sessionInBrowser(browser, stack, nowSeconds()))!;
  addTokens('second-login', last);
  loggedOutIdToken = last.idt!;
  await expectStatus(get('/api/me'), 200);

  // Logout, and after it.
  await expectStatus(post('/bff/logout'), 200);
  await expectStatus(get('/api/me'), 401);
  await expectStatus(get('/bff/session'), 200);
  recorder.stop();
  records.push(...forgerRecorder.records);

  // Bearer tokens the API actually received.
  const bearers = new Set(stack.api.requests.map((r) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1]).filter((t): t is string => !!t));
  const known = new Set(Object.values(tokens));
  [...bearers].filter((t) => !known.has(t)).forEach((t, n) => (tokens[`api-bearer#${n}`] = t));

  // Cookie seals, PKCE verifiers and authorization codes seen during the run.
  const loginSealer = createSealer(stack.env.BFF_SESSION_SECRET!.split(','));
  let verifiers = 0;
  for (const record of records) {
    for (const [name, value] of record.headers) {
      if (name === 'set-cookie') {
        const c = parseSetCookie(value);
        if (!c.value) continue;
        logOnlySecrets[`cookie ${c.name}#${Object.keys(logOnlySecrets).length}`] = c.value;
        if (c.name.startsWith('__Host-bff-login.')) {
          const tx = await loginSealer.unseal<LoginTransaction>('login', c.value);
          if (tx?.verifier) tokens[`pkce-verifier#${verifiers++}`] = tx.verifier;
        }
      }
      if (name === 'location' && value.includes('/bff/callback?')) {
        const code = new URL(value).searchParams.get('code');
        if (code) logOnlySecrets[`authorization code#${Object.keys(logOnlySecrets).length}`] = code;
      }
    }
  }
  logLines = await stack.logLines();
});
afterAll(async () => {
  await stack?.close();
});

describe('a full session lifecycle', () => {
  it('exercised what it claims: logins, refreshes, refusals, upstream errors, a failed callback and logout', () => {
    const statuses = new Set(records.filter((r) => r.request.includes(stack.bffUrl)).map((r) => r.status));
    for (const status of [200, 201, 302, 401, 403, 404, 405, 500, 502]) expect({ status, seen: statuses.has(status) }).toEqual({ status, seen: true });
    const labels = Object.keys(tokens);
    expect(labels.filter((l) => l.endsWith('.at')).length).toBeGreaterThanOrEqual(4); // 2 logins + 2 refreshes
    expect(labels.filter((l) => l.endsWith('.rt')).length).toBeGreaterThanOrEqual(2);
    expect(labels.filter((l) => l.endsWith('.idt')).length).toBeGreaterThanOrEqual(2);
    expect(labels.filter((l) => l.startsWith('pkce-verifier')).length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(logOnlySecrets).some((l) => l.startsWith('authorization code'))).toBe(true);
  });

  it('no token, client secret, session secret or PKCE verifier appears in any response header or body (except id_token_hint in logoutUrl)', () => {
    const secrets = { ...tokens, ...configSecrets(stack.env) };
    const logout = records.filter((r) => r.request === `POST ${stack.bffUrl}/bff/logout` && r.status === 200);
    expect(logout).toHaveLength(1);
    const haystacks = records.flatMap((record) => {
      if (record !== logout[0]) return haystacksOf(record);
      // The documented exception, removed before searching: the logged-out session's ID token as id_token_hint.
      const body = JSON.parse(record.body) as { logoutUrl: string };
      expect(Object.keys(body)).toEqual(['logoutUrl']);
      const url = new URL(body.logoutUrl);
      expect(url.searchParams.get('id_token_hint') === loggedOutIdToken).toBe(true);
      url.searchParams.delete('id_token_hint');
      return haystacksOf({ ...record, body: JSON.stringify({ logoutUrl: url.href }) });
    });
    expect(haystacks.length).toBeGreaterThan(100);
    expect(findLeaks(haystacks, secrets)).toEqual([]);
  });

  it('the ID token appears only in that one place', () => {
    const places = findLeaks(records.flatMap(haystacksOf), { 'logged-out idt': loggedOutIdToken });
    expect(places).toEqual([`logged-out idt in POST ${stack.bffUrl}/bff/logout → 200 body`]);
  });

  it('no token, secret, verifier, cookie seal or authorization code appears in any log line', () => {
    const secrets = { ...tokens, ...logOnlySecrets, ...configSecrets(stack.env) };
    expect(findLeaks(logLines.map((text, n) => ({ where: `log line ${n}`, text })), secrets)).toEqual([]);
  });

  it('the logs record the lifecycle, so the log check is not vacuous', () => {
    const events = new Set(logLines.map((l) => (JSON.parse(l) as { event: string }).event));
    for (const event of ['login.started', 'login.succeeded', 'session.refreshed', 'session.refresh_rejected', 'login.failed', 'proxy.failed', 'logout.completed']) {
      expect({ event, logged: events.has(event) }).toEqual({ event, logged: true });
    }
  });
});
