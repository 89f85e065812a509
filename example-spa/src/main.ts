/**
 * hono-bff example SPA: one page, two client-side routes (`/` and `/notes`),
 * talking to the BFF only through `hono-bff/client`.
 *
 * The page never holds a token. It knows who is signed in and when the session
 * ends (from `GET /bff/session`); everything else is the BFF's job.
 */
import './style.css';
import { BffError, createBffClient, type BffSession, type ExpiryInfo } from 'hono-bff/client';
import { addNote, describeError, getMe, listNotes, problemFromCode, type Problem } from './api.ts';
import * as views from './views.ts';

// No `onUnauthenticated`: when a call finds the session gone, the client emits a
// 'session' event with `authenticated: false` and this page shows the signed-out
// screen. The app never starts a login on its own: that is how redirect loops happen.
const client = createBffClient();

/** `undefined` until the first answer of `getSession()`. */
let session: BffSession | undefined;
/** The expiry the notice (`#notice`) is about, if one is shown. */
let notice: ExpiryInfo | undefined;
/** What `#app` currently shows; the view is rebuilt only when this changes, so typing is never interrupted. */
let renderedKey = '';

const app = element('app');
const errorBanner = element('error-banner');
const noticeBox = element('notice');

// ---------------------------------------------------------------- routing

type Route = 'profile' | 'notes' | 'not-found';

function currentRoute(): Route {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return 'profile';
  if (path === '/notes') return 'notes';
  return 'not-found';
}

function navigate(path: string): void {
  if (path !== location.pathname) history.pushState(null, '', path);
  render();
  app.focus({ preventScroll: true });
}

// In-app links carry `data-link`; modified clicks (new tab, …) keep their default.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest('a[data-link]') : null;
  if (!(link instanceof HTMLAnchorElement) || link.origin !== location.origin) return;
  event.preventDefault();
  navigate(link.pathname);
});
window.addEventListener('popstate', () => render());

// ---------------------------------------------------------------- rendering

function render(): void {
  const state = session === undefined ? 'loading' : session.authenticated ? 'signed-in' : 'signed-out';
  const route = currentRoute();
  document.body.dataset.state = state;

  // Header: the user's name, the navigation and "Log out" when signed in.
  element('account').hidden = !session?.authenticated;
  element('nav').hidden = !session?.authenticated;
  element('header-user').textContent = session?.authenticated ? views.displayName(session.user) : '';
  for (const link of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    const current = (link.pathname === '/' && route === 'profile') || (link.pathname === '/notes' && route === 'notes');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }

  const key = JSON.stringify([state, route, session?.authenticated ? session.user : null]);
  if (key !== renderedKey) {
    renderedKey = key;
    document.title = route === 'notes' ? 'Notes · hono-bff example' : 'hono-bff example';
    app.replaceChildren(...buildView(route));
    if (session?.authenticated && route === 'notes') void run(null, refreshNotes);
  }
  tick();
}

function buildView(route: Route): HTMLElement[] {
  if (session === undefined) return [views.h('p', { class: 'loading' }, 'Checking your session…')];
  if (!session.authenticated) {
    // Log in, then come back to the page the user asked for (e.g. /notes).
    return [views.signedOutView(() => client.login(location.pathname + location.search + location.hash))];
  }
  if (route === 'not-found') return [views.notFoundView()];
  const card = views.sessionCard(session.user, (button) => void run(button, refreshSession));
  if (route === 'notes') return [card, views.notesCard((text, input, button) => void run(button, () => saveNote(text, input)))];
  return [card, views.apiCard((button, output) => void run(button, () => callApi(output)))];
}

/** Every second: the countdowns. */
function tick(): void {
  if (!session?.authenticated) return;
  const now = Date.now() / 1000;
  setText('session-countdown', views.sessionCountdownText(session.sessionExpiresAt - now));
  setText('token-countdown', views.tokenCountdownText(session.accessTokenExpiresAt - now));
}
setInterval(tick, 1000);

// ---------------------------------------------------------------- session

function showSession(next: BffSession): void {
  session = next;
  if (notice && !noticeStillApplies(notice, next)) hideNotice();
  render();
}

function showNotice(event: 'expiring' | 'expired', info: ExpiryInfo): void {
  notice = info;
  noticeBox.textContent = views.expiryNoticeText(event, info);
  noticeBox.hidden = false;
}

function hideNotice(): void {
  notice = undefined;
  noticeBox.hidden = true;
  noticeBox.textContent = '';
}

/** A notice goes away once its expiry has moved (refresh, new login); "session ended" stays on the signed-out screen. */
function noticeStillApplies(current: ExpiryInfo, next: BffSession): boolean {
  if (!next.authenticated) return current.kind === 'session' && current.expiresAt <= Date.now() / 1000;
  const expiresAt = current.kind === 'session' ? next.sessionExpiresAt : next.accessTokenExpiresAt;
  return expiresAt <= current.expiresAt;
}

async function loadSession(): Promise<void> {
  try {
    showSession(await client.getSession());
  } catch (error) {
    // An ended or unusable session is not an error worth a banner: the page just shows "signed out".
    const signedOut = error instanceof BffError && (error.code === 'unauthenticated' || error.code === 'session_expired');
    if (!signedOut) showError(describeError(error));
    if (signedOut || session === undefined) showSession({ authenticated: false });
  }
}

async function refreshSession(): Promise<void> {
  showSession(await client.refresh());
}

// Another tab logging in or out, a refresh, or an ended session all arrive here.
client.on('session', showSession);
client.on('expiring', (info) => showNotice('expiring', info));
client.on('expired', (info) => {
  showNotice('expired', info);
  // The session is over: ask the BFF, which answers "signed out".
  if (info.kind === 'session') void loadSession();
});

// ---------------------------------------------------------------- actions

/** Runs a user action: disables its button meanwhile and shows any failure in the banner. */
async function run(button: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  if (button) {
    hideError();
    button.disabled = true;
  }
  try {
    await action();
  } catch (error) {
    if (!(error instanceof BffError)) console.error(error);
    showError(describeError(error));
  } finally {
    if (button) button.disabled = false;
  }
}

async function callApi(output: HTMLPreElement): Promise<void> {
  const body = await getMe(client);
  output.textContent = JSON.stringify(body, null, 2);
  output.hidden = false;
  await syncTokenExpiry();
}

async function saveNote(text: string, input: HTMLInputElement): Promise<void> {
  if (!text.trim()) return;
  await addNote(client, text.trim());
  input.value = '';
  await refreshNotes();
  input.focus();
}

async function refreshNotes(): Promise<void> {
  views.renderNotes(await listNotes(client));
  await syncTokenExpiry();
}

/**
 * The BFF refreshes the access token by itself during API calls when it is about
 * to expire; the page only learns the new expiry by asking. It does so only then.
 */
async function syncTokenExpiry(): Promise<void> {
  if (session?.authenticated && session.accessTokenExpiresAt - Date.now() / 1000 < 60) await loadSession();
}

element('logout').addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  // logout() tells the other tabs and then leaves for the IdP's end-session page.
  void run(button, () => client.logout());
});

// ---------------------------------------------------------------- errors

function showError({ code, title }: Problem): void {
  element('error-text').textContent = `${code} — ${title}`;
  errorBanner.hidden = false;
}

function hideError(): void {
  errorBanner.hidden = true;
  element('error-text').textContent = '';
}

element('error-dismiss').addEventListener('click', hideError);

/** A failed login comes back as `/?bff_error=<code>`: show it once, then drop it from the address bar. */
function takeLoginError(): void {
  const url = new URL(location.href);
  const code = url.searchParams.get('bff_error');
  if (code === null) return;
  url.searchParams.delete('bff_error');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  showError(problemFromCode(code));
}

// ---------------------------------------------------------------- helpers

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html lacks #${id}`);
  return found;
}

function setText(id: string, text: string): void {
  const found = document.getElementById(id);
  if (found && found.textContent !== text) found.textContent = text;
}

// ---------------------------------------------------------------- start

takeLoginError();
render();
void loadSession();
// Back/forward cache: a page restored after leaving (e.g. after logging out) asks again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) void loadSession();
});
