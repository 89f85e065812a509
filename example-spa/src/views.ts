/**
 * The screens, built with plain DOM APIs. Data from the server only ever becomes
 * text nodes or attribute values (never HTML), so a hostile claim or note cannot
 * inject markup.
 */
import type { BffUser, ExpiryInfo } from 'hono-bff/client';
import type { Note } from './api.ts';

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

/** `h('button', { id: 'x', type: 'button' }, 'Label')`: an element with attributes and text/element children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  // append() turns strings into text nodes: no HTML parsing.
  for (const child of children) if (child) element.append(child);
  return element;
}

/** "6d 23h 59m 12s", "4m 5s", "12s". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  const parts: string[] = [];
  if (days) parts.push(`${days}d`);
  if (days || hours) parts.push(`${hours}h`);
  if (days || hours || minutes) parts.push(`${minutes}m`);
  parts.push(`${s % 60}s`);
  return parts.join(' ');
}

export function sessionCountdownText(secondsLeft: number): string {
  return secondsLeft > 0 ? `Session ends in ${formatDuration(secondsLeft)}` : 'Session has ended';
}

export function tokenCountdownText(secondsLeft: number): string {
  return secondsLeft > 0
    ? `Access token expires in ${formatDuration(secondsLeft)}`
    : 'Access token expired: the BFF renews it on the next API call';
}

/**
 * The subtle notice after an 'expiring' or 'expired' event. It names a clock
 * time rather than counting down, so screen readers announce it once.
 */
export function expiryNoticeText(event: 'expiring' | 'expired', { kind, expiresAt }: ExpiryInfo): string {
  const at = new Date(expiresAt * 1000).toLocaleTimeString();
  if (kind === 'session') {
    return event === 'expiring'
      ? `Your session ends at ${at}. You will need to log in again after that.`
      : 'Your session has ended. Log in again to continue.';
  }
  return event === 'expiring'
    ? `The access token expires at ${at}. The BFF renews it on the next API call, or press “Refresh now”.`
    : 'The access token has expired. The BFF renews it on the next API call.';
}

/** The name to greet the user with. */
export function displayName(user: BffUser): string {
  return user.name || user.email || user.sub;
}

/** Signed out: what this app is, and the login button. */
export function signedOutView(onLogin: () => void): HTMLElement {
  const login = h('button', { id: 'login', type: 'button', class: 'button primary large' }, 'Log in');
  login.addEventListener('click', onLogin);
  return h(
    'section',
    { class: 'card hero', 'aria-labelledby': 'signed-out-title' },
    h('h1', { id: 'signed-out-title' }, 'Sign in to continue'),
    h(
      'p',
      { class: 'lead' },
      'This app reaches its API through a Backend-for-Frontend. Your tokens never reach the browser: ',
      'the BFF keeps them in an encrypted, HttpOnly cookie that no script on this page can read.',
    ),
    h(
      'ul',
      { class: 'facts' },
      h('li', {}, 'Login runs on the server: authorization code flow with PKCE.'),
      h('li', {}, 'The session cookie is HttpOnly, Secure and SameSite=Strict.'),
      h('li', {}, 'API calls get their bearer token added by the BFF, not by this page.'),
    ),
    login,
  );
}

/** Who is signed in, and how long the session and the access token last. */
export function sessionCard(user: BffUser, onRefresh: (button: HTMLButtonElement) => void): HTMLElement {
  const name = displayName(user);
  const refresh = h('button', { id: 'refresh', type: 'button', class: 'button secondary' }, 'Refresh now');
  refresh.addEventListener('click', () => onRefresh(refresh));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'user-name' },
    h(
      'div',
      { class: 'profile' },
      h('div', { class: 'avatar', 'aria-hidden': 'true' }, name.slice(0, 1).toUpperCase()),
      h(
        'div',
        { class: 'profile-text' },
        h('h1', { id: 'user-name' }, name),
        h('p', { id: 'user-email', class: 'muted' }, user.email || 'No email claim'),
      ),
    ),
    h(
      'dl',
      { class: 'facts-grid' },
      h('dt', {}, 'Subject'),
      h('dd', {}, h('code', { id: 'user-sub' }, user.sub)),
      h('dt', {}, 'Session'),
      h('dd', { id: 'session-countdown', class: 'countdown' }),
      h('dt', {}, 'Access token'),
      h('dd', { id: 'token-countdown', class: 'countdown' }),
    ),
    h(
      'div',
      { class: 'actions' },
      refresh,
      h('span', { class: 'hint' }, 'The token itself stays on the server; only its expiry is shared.'),
    ),
  );
}

/** Profile page: call `GET /api/me` through the BFF and show the answer. */
export function apiCard(onCallApi: (button: HTMLButtonElement, output: HTMLPreElement) => void): HTMLElement {
  const output = h('pre', { id: 'api-result', class: 'result', hidden: true, tabindex: '0', 'aria-label': 'API response' });
  const call = h('button', { id: 'call-api', type: 'button', class: 'button primary' }, 'Call API');
  call.addEventListener('click', () => onCallApi(call, output));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'api-title' },
    h('h2', { id: 'api-title' }, 'Call the API'),
    h(
      'p',
      { class: 'muted' },
      'GET /api/me goes through the BFF, which swaps your session cookie for a bearer token. ',
      'The API answers with what it received.',
    ),
    h('div', { class: 'actions' }, call),
    output,
  );
}

/** Notes page: a one-field form and the list. */
export function notesCard(onAdd: (text: string, input: HTMLInputElement, button: HTMLButtonElement) => void): HTMLElement {
  const input = h('input', {
    id: 'note-text',
    name: 'text',
    type: 'text',
    maxlength: '1000',
    required: true,
    autocomplete: 'off',
    placeholder: 'Write a note…',
  });
  const add = h('button', { id: 'add-note', type: 'submit', class: 'button primary' }, 'Add note');
  const form = h(
    'form',
    { class: 'note-form' },
    h('label', { for: 'note-text', class: 'visually-hidden' }, 'New note'),
    input,
    add,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onAdd(input.value, input, add);
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'notes-title' },
    h('h2', { id: 'notes-title' }, 'Notes'),
    h('p', { class: 'muted' }, 'Kept by the example API for your user, in memory.'),
    form,
    h('ul', { id: 'notes-list', class: 'notes', 'aria-live': 'polite' }),
    h('p', { id: 'notes-empty', class: 'muted empty', hidden: true }, 'No notes yet.'),
  );
}

/** Fills `#notes-list` with one `<li>` per note (the text only). */
export function renderNotes(notes: Note[]): void {
  const list = document.getElementById('notes-list');
  const empty = document.getElementById('notes-empty');
  if (!list || !empty) return; // the user navigated away meanwhile
  list.replaceChildren(
    ...notes.map((note) =>
      h('li', { 'data-id': note.id, title: `Added ${new Date(note.createdAt).toLocaleString()}` }, note.text),
    ),
  );
  empty.hidden = notes.length > 0;
}

/** Any other path. */
export function notFoundView(): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'not-found-title' },
    h('h1', { id: 'not-found-title' }, 'Page not found'),
    h('p', { class: 'muted' }, 'There is nothing at this address.'),
    h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to your profile')),
  );
}
