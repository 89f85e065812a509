/**
 * Playwright fixtures: one local stack per worker (dev IdP, example API, BFF
 * serving the built example SPA), and helpers that drive the IdP's real
 * login page and read the real token values from the IdP/API side.
 */
import { fileURLToPath } from 'node:url';
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { startDevStack, type DevStack } from '../dev/stack.js';
import { silentLogger } from '../src/log.js';
import { createSealer } from '../src/session/seal.js';
import { readSession, type SessionData } from '../src/session/session.js';

const SPA_DIST = fileURLToPath(new URL('../example-spa/dist', import.meta.url));

export const test = base.extend<{ pageErrors: string[] }, { stack: DevStack }>({
  stack: [
    async ({}, use) => {
      const stack = await startDevStack({ env: { BFF_STATIC_DIR: SPA_DIST }, deps: { logger: silentLogger } });
      await use(stack);
      await stack.close();
    },
    { scope: 'worker' },
  ],
  // Uncaught errors in the page fail the test: the SPA must handle every failure.
  pageErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await use(errors);
    expect(errors).toEqual([]);
  },
});
export { expect };

/** Waits until the SPA shows the given state. */
export async function expectState(page: Page, state: 'signed-in' | 'signed-out'): Promise<void> {
  await expect(page.locator(`[data-state="${state}"]`)).toHaveCount(1);
}

/** Clicks "Log in" and signs in on the IdP's real login page. */
export async function logInThroughIdp(page: Page, stack: DevStack, user = 'alice'): Promise<void> {
  await page.locator('#login').click();
  await page.waitForURL((url) => url.origin === stack.idp.issuer);
  await page.locator('#login').fill(user);
  await page.locator('#password').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.origin === new URL(stack.bffUrl).origin);
  await expectState(page, 'signed-in');
}

/** The session inside the browser context's cookie, unsealed with the stack's secret (tests only). */
export async function sessionOf(context: BrowserContext, stack: DevStack): Promise<SessionData | undefined> {
  const cookies = Object.fromEntries((await context.cookies(stack.bffUrl)).map((c) => [c.name, c.value]));
  const lookup = await readSession(cookies, createSealer(stack.env.BFF_SESSION_SECRET!.split(',')), Math.floor(Date.now() / 1000));
  return lookup.status === 'valid' ? lookup.session : undefined;
}
