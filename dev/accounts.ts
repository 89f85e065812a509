/**
 * Development accounts and the HTML pages of the dev IdP's interactions.
 *
 * Kept apart from `idp.ts` so the provider wiring stays readable and so tests can
 * import the fixed users without starting a provider.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Account, AccountClaims, FindAccount } from 'oidc-provider';

/** Standard claims a dev account can release (filtered by oidc-provider per granted scope). */
export interface DevAccountClaims {
  name: string;
  given_name?: string;
  family_name?: string;
  email: string;
  email_verified?: boolean;
}

/** A fixed development user: `login` is also the `sub`. */
export interface DevAccount {
  sub: string;
  password: string;
  claims: DevAccountClaims;
}

/**
 * The dev users. Passwords equal the login on purpose: these exist only on a loopback IdP
 * started per test or per `npm start`, never anywhere reachable.
 */
export const DEV_ACCOUNTS: ReadonlyMap<string, DevAccount> = new Map<string, DevAccount>([
  ['alice', {
    sub: 'alice',
    password: 'alice',
    claims: {
      name: 'Alice Liddell',
      given_name: 'Alice',
      family_name: 'Liddell',
      email: 'alice@example.com',
      email_verified: true,
    },
  }],
  ['bob', {
    sub: 'bob',
    password: 'bob',
    claims: { name: 'Bob Builder', email: 'bob@example.com' },
  }],
]);

/** Hashing first gives equal-length buffers, so the comparison does not leak length. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Checks a login/password pair. Returns the account only when both match; an unknown login
 * still runs one comparison so the two failure cases take similar time.
 */
export function verifyPassword(login: string, password: string): DevAccount | undefined {
  const account = DEV_ACCOUNTS.get(login);
  const ok = sameSecret(password, account?.password ?? '\u0000no-such-user');
  return ok && account ? account : undefined;
}

/**
 * oidc-provider `findAccount`: resolves a `sub` to its claims. Unknown subjects return
 * `undefined`, which makes the provider treat the session/grant as invalid.
 */
export const findAccount: FindAccount = (_ctx, sub) => {
  const account = DEV_ACCOUNTS.get(sub);
  if (!account) return undefined;
  const result: Account = {
    accountId: account.sub,
    // The provider filters these by the scopes/claims actually granted, so return them all.
    claims: (): AccountClaims => ({ sub: account.sub, ...account.claims }),
  };
  return result;
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Wraps a body in a minimal page; no external resources, so it works offline. */
function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}
input{padding:.5rem}button{padding:.6rem;margin-top:1rem}.error{color:#b00020}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

/** Inputs for {@link renderLoginPage}. */
export interface LoginPageOptions {
  /** Form action, e.g. `/interaction/{uid}/login`. */
  action: string;
  /** Client asking for the login, shown to the user. */
  clientId?: string | undefined;
  /** Login name to pre-fill after a failed attempt (never the password). */
  login?: string | undefined;
  /** Error message to show above the form. */
  error?: string | undefined;
}

/**
 * The login form. Field names and ids are fixed (`login`, `password`, a submit button
 * labelled "Sign in") because browser tests fill them by id.
 */
export function renderLoginPage(options: LoginPageOptions): string {
  const error = options.error
    ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>`
    : '';
  const client = options.clientId
    ? `<p>to continue to <strong>${escapeHtml(options.clientId)}</strong></p>`
    : '';
  return page('Sign in', `${client}${error}
<form method="post" action="${escapeHtml(options.action)}" autocomplete="off">
<label for="login">Username</label>
<input id="login" name="login" type="text" required autofocus value="${escapeHtml(options.login ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<p><small>Dev users: alice/alice, bob/bob</small></p>`);
}

/**
 * The RP-initiated logout prompt. `form` is oidc-provider's own `<form id="op.logoutForm">`
 * holding the hidden `xsrf`; the buttons attach to it via the `form` attribute, as in the
 * provider's default page.
 */
export function renderLogoutPage(form: string): string {
  return page('Sign out', `<p>Do you want to sign out?</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

/** Shown when logout completed without a post-logout redirect URI. */
export function renderLoggedOutPage(): string {
  return page('Signed out', '<p>You have been signed out.</p>');
}

/** An error page listing `fields` (e.g. `error`, `error_description`), all escaped. */
export function renderErrorPage(fields: Record<string, unknown>): string {
  const rows = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
    .join('\n');
  return page('Something went wrong', rows);
}

/**
 * Sends one of these pages. The CSP forbids scripts and framing; it sets no `form-action`,
 * because Chromium applies that to the redirects after a form POST, which leave this origin.
 */
export function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(html);
}
