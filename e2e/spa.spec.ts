/**
 * The example SPA in real Chromium against the real IdP pages, the BFF and
 * the example API: login, API calls, notes, reload, logout (the IdP session
 * ends too), and proof that no token ever reaches the page.
 */
import { fileURLToPath } from 'node:url';
import { expect, expectState, logInThroughIdp, sessionOf, test } from './fixtures.js';

test('log in, call the API, add a note, reload, log out (the IdP session ends too)', async ({ page, stack, pageErrors: _ }) => {
  await page.goto(stack.bffUrl);
  await expectState(page, 'signed-out');
  await logInThroughIdp(page, stack);
  await expect(page.locator('#user-name')).toHaveText('Alice Liddell');
  await expect(page.locator('#user-email')).toHaveText('alice@example.com');
  await expect(page.locator('#user-sub')).toHaveText('alice');
  await expect(page.locator('#session-countdown')).toContainText(/\d/);

  stack.api.resetRequests();
  await page.locator('#call-api').click();
  await expect(page.locator('#api-result')).toContainText('"sub": "alice"');
  await expect(page.locator('#api-result')).toContainText('https://api.hono-bff.test');
  const apiCall = stack.api.requests.find((r) => r.path === '/api/me');
  const session = await sessionOf(page.context(), stack);
  expect(apiCall?.headers.authorization).toBe(`Bearer ${session!.at}`);
  expect(apiCall?.headers.cookie).toBeUndefined();

  await page.goto(`${stack.bffUrl}/notes`);
  await expectState(page, 'signed-in');
  await page.locator('#note-text').fill('written in Chromium');
  await page.locator('#add-note').click();
  await expect(page.locator('#notes-list li')).toContainText(['written in Chromium']);
  expect(stack.api.requests.some((r) => r.method === 'POST' && r.path === '/api/notes')).toBe(true);

  await page.reload();
  await expectState(page, 'signed-in');
  await expect(page.locator('#notes-list li')).toContainText(['written in Chromium']);

  await page.locator('#logout').click();
  await page.waitForURL((url) => url.origin === stack.idp.issuer);
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL((url) => url.origin === new URL(stack.bffUrl).origin);
  await expectState(page, 'signed-out');
  expect((await page.context().cookies(stack.bffUrl)).filter((c) => c.name.startsWith('__Host-bff-'))).toEqual([]);

  // The IdP session ended: the next login asks for credentials again.
  await page.locator('#login').click();
  await page.waitForURL((url) => url.origin === stack.idp.issuer);
  await expect(page.locator('#password')).toBeVisible();
});

test('no token reaches the page: cookies HttpOnly, storage empty, no response carries a token', async ({ page, stack, pageErrors: _ }) => {
  const seen: string[] = [];
  page.on('response', async (response) => {
    if (new URL(response.url()).origin !== new URL(stack.bffUrl).origin) return;
    const headers = JSON.stringify(await response.allHeaders());
    const body = response.request().method() === 'HEAD' || [301, 302, 303, 307, 308].includes(response.status()) ? '' : await response.text().catch(() => '');
    seen.push(`${response.url()}\n${headers}\n${body}`);
  });
  await page.goto(stack.bffUrl);
  await logInThroughIdp(page, stack);
  await page.locator('#refresh').click();
  await expect(page.locator('#refresh')).toBeEnabled();
  await expect(page.locator('#user-sub')).toHaveText('alice');
  await page.locator('#call-api').click();
  await expect(page.locator('#api-result')).toContainText('alice');

  const session = await sessionOf(page.context(), stack);
  const tokens = [session!.at, session!.rt!, session!.idt!];
  // The token the API really received is the session's access token.
  expect(stack.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${session!.at}`);

  const pageView = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    html: document.documentElement.outerHTML,
  }));
  expect(pageView.cookie).not.toContain('bff');
  for (const token of tokens) {
    expect(pageView.local).not.toContain(token);
    expect(pageView.session).not.toContain(token);
    expect(pageView.html).not.toContain(token);
    for (const response of seen) expect(response).not.toContain(token);
  }
  expect(seen.length).toBeGreaterThan(3);
});

test('every BFF cookie is __Host-, HttpOnly, Secure, SameSite=Strict', async ({ page, stack }) => {
  await page.goto(stack.bffUrl);
  await logInThroughIdp(page, stack);
  const cookies = (await page.context().cookies(stack.bffUrl)).filter((c) => c.name.includes('bff'));
  expect(cookies.length).toBeGreaterThan(0);
  for (const cookie of cookies) {
    expect(cookie.name.startsWith('__Host-')).toBe(true);
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.secure).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.path).toBe('/');
  }
});

test('logging out in one tab updates the other without a reload', async ({ context, stack }) => {
  const first = await context.newPage();
  await first.goto(stack.bffUrl);
  await logInThroughIdp(first, stack);
  const second = await context.newPage();
  await second.goto(stack.bffUrl);
  await expectState(second, 'signed-in');
  const navigations: string[] = [];
  second.on('framenavigated', (frame) => navigations.push(frame.url()));

  await first.locator('#logout').click();
  await expectState(second, 'signed-out');
  expect(navigations).toEqual([]);
});

test('an invalid session cookie shows the signed-out state without errors or redirect loops', async ({ page, context, stack, pageErrors: _ }) => {
  await context.addCookies([{ name: '__Host-bff-session', value: 'Fe26.2*garbage', domain: new URL(stack.bffUrl).hostname, path: '/', secure: true, httpOnly: true, sameSite: 'Strict' }]);
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));
  await page.goto(`${stack.bffUrl}/`);
  await expectState(page, 'signed-out');
  await page.waitForTimeout(300);
  expect(navigations).toEqual([`${stack.bffUrl}/`]);
  expect((await context.cookies(stack.bffUrl)).some((c) => c.name === '__Host-bff-session')).toBe(false);
});

test('a login error is shown by code in the banner', async ({ page, stack, pageErrors: _ }) => {
  await page.goto(`${stack.bffUrl}/?bff_error=login_failed`);
  await expect(page.locator('#error-banner')).toBeVisible();
  await expect(page.locator('#error-banner')).toContainText('login_failed');
  expect(new URL(page.url()).search).toBe('');
});

test('a deep link survives the login: /notes signed out → log in → back on /notes', async ({ page, stack, pageErrors: _ }) => {
  await page.goto(`${stack.bffUrl}/notes`);
  await expectState(page, 'signed-out');
  await logInThroughIdp(page, stack);
  expect(new URL(page.url()).pathname).toBe('/notes');
  await expect(page.locator('#note-text')).toBeVisible();
  if (process.env.UPDATE_SCREENSHOT) {
    await page.goto(stack.bffUrl);
    await page.locator('#call-api').click();
    await expect(page.locator('#api-result')).toContainText('alice');
    await page.setViewportSize({ width: 1100, height: 760 });
    await page.screenshot({ path: fileURLToPath(new URL('../docs/screenshot.png', import.meta.url)) });
  }
});
