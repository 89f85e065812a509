/**
 * `hono-bff/client`: the browser side of hono-bff. Zero dependencies, Web APIs
 * only, no side effects on import (the default client is created on first
 * use), so bundlers drop whatever the app does not call.
 *
 * @example
 * ```ts
 * import { bffFetch, getSession, login } from 'hono-bff/client';
 *
 * const session = await getSession();
 * if (!session.authenticated) login();
 * const notes = await (await bffFetch('/api/notes')).json();
 * ```
 * @module
 */
import { createBffClient, type BffClient, type BffClientOptions } from './client.js';
import type { BffSession } from './session.js';

export { BffError } from './errors.js';
export { createBffClient, type BffClient, type BffClientOptions } from './client.js';
export type { BffSession, BffUser } from './session.js';
export type { ExpiryInfo } from './expiry.js';

let defaultClient: BffClient | undefined;

// Created on first use, not on import: importing must not open a BroadcastChannel or touch fetch.
const useDefault = (): BffClient => (defaultClient ??= createBffClient());

/**
 * `fetch` of the default client: credentials, `x-csrf: 1`, problem+json → {@link BffError}.
 *
 * @example
 * ```ts
 * const res = await bffFetch('/api/notes', { method: 'POST', body: JSON.stringify(note), headers: { 'content-type': 'application/json' } });
 * ```
 */
export function bffFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return useDefault().fetch(input, init);
}

/**
 * The session, from `GET /bff/session` of the default client.
 *
 * @example
 * ```ts
 * const session = await getSession();
 * if (session.authenticated) console.log(session.user.sub);
 * ```
 */
export function getSession(): Promise<BffSession> {
  return useDefault().getSession();
}

/**
 * Navigates to the BFF's login; comes back to `returnTo` (a same-origin path).
 *
 * @default returnTo: the current `pathname + search + hash`
 * @example
 * ```ts
 * login('/notes');
 * ```
 */
export function login(returnTo?: string): void {
  useDefault().login(returnTo);
}

/**
 * Ends the session in the BFF and every tab, then navigates to the IdP's logout.
 *
 * @example
 * ```ts
 * button.onclick = () => logout();
 * ```
 */
export function logout(): Promise<void> {
  return useDefault().logout();
}

/**
 * Refreshes the access token now, through the default client.
 *
 * @example
 * ```ts
 * const { accessTokenExpiresAt } = await refresh();
 * ```
 */
export function refresh(): Promise<BffSession> {
  return useDefault().refresh();
}

/**
 * Replaces the default client used by the functions above (the old one is
 * closed; its listeners are not carried over) and returns it, e.g. to
 * subscribe to its events.
 *
 * @example
 * ```ts
 * const bff = configureBff({ basePath: '/auth', onUnauthenticated: () => login() });
 * bff.on('session', render);
 * ```
 */
export function configureBff(options: BffClientOptions): BffClient {
  defaultClient?.close();
  return (defaultClient = createBffClient(options));
}
