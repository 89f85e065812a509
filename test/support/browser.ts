/**
 * A minimal cookie-keeping "browser" for integration tests: fetch with a tough-cookie jar,
 * manual redirects, and helpers that drive the dev IdP's login and logout forms.
 */
import { Cookie, CookieJar } from 'tough-cookie';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_HOPS = 20;

/** Origin and path only: queries can carry codes and states, which do not belong in errors. */
function safe(url: string | URL): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Cancels an unread body so keep-alive connections are released. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * A cookie-aware fetch wrapper that never follows redirects on its own. SameSite is not
 * enforced (tough-cookie's default without a `sameSiteContext`); Chromium e2e covers that.
 */
export class TestBrowser {
  /** Cookies set by every server this browser talked to. */
  readonly jar: CookieJar;

  /** `allowSecureOnLocal` treats http://127.0.0.1 and localhost as secure, like real browsers, so `__Host-`/`Secure` cookies round-trip. */
  constructor() {
    this.jar = new CookieJar(undefined, { allowSecureOnLocal: true });
  }

  /** One request, no redirect following; sends and stores cookies. An explicit `cookie` header in `init` wins over the jar. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = await this.jar.getCookieString(target.href);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) {
      // Browsers silently drop cookies they refuse; do the same.
      await this.jar.setCookie(setCookie, target.href, { ignoreError: true });
    }
    return response;
  }

  /** Follows 30x redirects (GET after 303, and after 301/302 for POST), up to 20 hops; returns the final response and every URL requested. */
  async follow(url: string | URL, init: RequestInit = {}): Promise<{ response: Response; visited: string[] }> {
    const visited: string[] = [];
    let current = new URL(url);
    let request = init;
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      const response = await this.fetch(current, request);
      visited.push(current.href);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || !location) return { response, visited };
      await discard(response);
      const next = new URL(location, current);
      request = nextRequest(request, response.status, current, next);
      current = next;
    }
    throw new Error(`more than ${MAX_HOPS} redirects starting at ${safe(url)}`);
  }

  /** Cookies the jar would send to `url`. */
  cookies(url: string | URL): Promise<Cookie[]> {
    return this.jar.getCookies(new URL(url).href);
  }

  /** The `Cookie` header value the jar would send to `url`. */
  cookieHeader(url: string | URL): Promise<string> {
    return this.jar.getCookieString(new URL(url).href);
  }
}

/** Request for the next hop, following the fetch spec's redirect rules. */
function nextRequest(init: RequestInit, status: number, from: URL, to: URL): RequestInit {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (from.origin !== to.origin) headers.delete('authorization');
  if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
    for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(name);
    return { method: 'GET', headers };
  }
  return { ...init, headers };
}

/** A parsed HTML form: action resolved against the page URL, and its submittable fields. */
interface ParsedForm { action: URL; method: string; id: string | undefined; fields: URLSearchParams; names: Set<string>; }

/** Decodes the entities our pages and oidc-provider's emit in attributes. */
function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_m, entity: string) => {
    const e = entity.toLowerCase();
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '';
  });
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = m[1]?.toLowerCase();
    if (name) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

/** Parses every `<form>` with its inputs (text values as rendered; buttons are not included). */
function parseForms(html: string, pageUrl: URL): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1] ?? '');
    const fields = new URLSearchParams();
    const names = new Set<string>();
    for (const input of (m[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] ?? '');
      const name = a.get('name');
      if (!name) continue;
      names.add(name);
      const type = (a.get('type') ?? 'text').toLowerCase();
      if (!['submit', 'button', 'image', 'reset'].includes(type)) fields.append(name, a.get('value') ?? '');
    }
    forms.push({
      action: new URL(attrs.get('action') || pageUrl.href, pageUrl),
      method: (attrs.get('method') ?? 'get').toUpperCase(),
      id: attrs.get('id'),
      fields,
      names,
    });
  }
  return forms;
}

/** Visible text of an error page, trimmed, to make a failure message useful. */
function pageText(html: string): string {
  return decodeEntities(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Submits a form as a browser would, including the page's `Origin`. */
function postForm(browser: TestBrowser, form: ParsedForm, page: URL): Promise<Response> {
  return browser.fetch(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: page.origin },
    body: form.fields.toString(),
  });
}

/**
 * Runs the full login: GET `${bffUrl}${basePath}/login[?returnTo=…]`, follows to the IdP,
 * submits the login form (and a consent form, if one appears), follows back through the
 * BFF callback, and stops at the BFF's final redirect without fetching it (the SPA page may
 * not exist in tests). `visited` lists every URL actually requested.
 */
export async function loginThroughIdp(
  browser: TestBrowser,
  bffUrl: string,
  opts: { user?: string; password?: string; returnTo?: string; basePath?: string } = {},
): Promise<{ finalUrl: string; visited: string[] }> {
  const bff = new URL(bffUrl);
  const basePath = (opts.basePath ?? '/bff').replace(/\/$/, '');
  const callbackPath = `${basePath}/callback`;
  let current = new URL(`${basePath}/login`, bff);
  if (opts.returnTo !== undefined) current.searchParams.set('returnTo', opts.returnTo);
  let init: RequestInit = { method: 'GET' };
  const visited: string[] = [current.href];
  let response = await browser.fetch(current, init);
  let loginSubmitted = false;

  for (let step = 0; step < 40; step++) {
    const location = response.headers.get('location');
    if (REDIRECTS.has(response.status) && location) {
      await discard(response);
      const next = new URL(location, current);
      const fromCallback = current.origin === bff.origin && current.pathname === callbackPath;
      const bffNonBase = next.origin === bff.origin && !next.pathname.startsWith(`${basePath}/`);
      if (bffNonBase || (fromCallback && next.origin !== bff.origin)) return { finalUrl: next.href, visited };
      init = nextRequest(init, response.status, current, next);
      current = next;
      visited.push(current.href);
      response = await browser.fetch(current, init);
      continue;
    }
    const html = (response.headers.get('content-type') ?? '').includes('text/html') ? await response.text() : '';
    if (!html) await discard(response);
    if (response.status !== 200 || !html) {
      throw new Error(`login flow stopped at ${safe(current)} with HTTP ${response.status}${html ? `: ${pageText(html)}` : ''}`);
    }
    const forms = parseForms(html, current);
    const login = forms.find((f) => f.names.has('password'));
    const consent = forms.find((f) => f.action.pathname.endsWith('/confirm') || f.fields.get('prompt') === 'consent');
    const form = login ?? consent;
    if (!form) throw new Error(`login flow stopped at ${safe(current)}: page has no login or consent form (${pageText(html)})`);
    if (login) {
      if (loginSubmitted) throw new Error(`login as "${opts.user ?? 'alice'}" was rejected: the IdP re-rendered the login form (${pageText(html)})`);
      loginSubmitted = true;
      login.fields.set('login', opts.user ?? 'alice');
      login.fields.set('password', opts.password ?? opts.user ?? 'alice');
    }
    response = await postForm(browser, form, current);
    init = { method: 'POST' };
    current = form.action;
    visited.push(current.href);
  }
  throw new Error(`login flow did not finish within 40 steps (last: ${safe(current)})`);
}

/**
 * RP-initiated logout at the IdP: GET `logoutUrl` (following redirects, e.g. from the BFF),
 * submit the logout form (hidden `xsrf` + `logout=yes`), follow redirects while they stay on
 * the IdP, and return the first URL off the IdP (the post-logout redirect URI, not fetched)
 * or, without one, the IdP page where the flow ended.
 */
export async function completeIdpLogout(browser: TestBrowser, logoutUrl: string): Promise<string> {
  const { response, visited } = await browser.follow(logoutUrl);
  const page = new URL(visited[visited.length - 1] ?? logoutUrl);
  const html = await response.text();
  const form = parseForms(html, page).find((f) => f.names.has('xsrf'));
  if (response.status !== 200 || !form) {
    throw new Error(`IdP logout page at ${safe(page)} (HTTP ${response.status}) has no logout form: ${pageText(html)}`);
  }
  const idpOrigin = form.action.origin;
  form.fields.set('logout', 'yes');
  let res = await postForm(browser, form, page);
  let current = form.action;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || !location) {
      await discard(res);
      return current.href;
    }
    await discard(res);
    const next = new URL(location, current);
    if (next.origin !== idpOrigin) return next.href;
    current = next;
    res = await browser.fetch(current);
  }
  throw new Error(`IdP logout did not finish within ${MAX_HOPS} redirects`);
}
