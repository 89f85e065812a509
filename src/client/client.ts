/**
 * The BFF client: `fetch` with the anti-CSRF header and problem+json errors,
 * the session endpoints, login/logout navigation, session events and
 * cross-tab sync.
 */
import { BffError, invalidResponse, isRecord, readProblem } from './errors.js';
import { createExpiryTimers, type ExpiryInfo } from './expiry.js';
import { toSession, type BffSession } from './session.js';
import { openSessionChannel } from './sync.js';

/**
 * Options of {@link createBffClient}. Everything has a default that fits a SPA
 * served by the BFF itself.
 *
 * @example
 * ```ts
 * const bff = createBffClient({ baseUrl: 'https://bff.example.com', onUnauthenticated: () => bff.login() });
 * ```
 */
export interface BffClientOptions {
  /**
   * Absolute origin of the BFF when the SPA is served from another origin (the
   * BFF must list the SPA's origin in `BFF_ALLOWED_ORIGINS`). Relative URLs
   * passed to `fetch` resolve against it.
   * @default '' (same origin)
   */
  baseUrl?: string;
  /**
   * Where the BFF's own endpoints live (`BFF_BASE_PATH`).
   * @default '/bff'
   */
  basePath?: string;
  /**
   * Credentials mode of every request; the session cookie only travels cross-origin with `include`.
   * @default 'same-origin' when `baseUrl` is '' or the page's origin, else 'include'
   */
  credentials?: RequestCredentials;
  /**
   * Called whenever a call fails with `unauthenticated` or `session_expired`
   * (after the session became `{ authenticated: false }`), e.g. to call
   * `login()` or show a "signed out" banner.
   * @default none: the app decides
   */
  onUnauthenticated?: (error: BffError) => void;
  /**
   * How many seconds before `accessTokenExpiresAt` / `sessionExpiresAt` the `expiring` event fires.
   * @default 60
   */
  expiryWarningSeconds?: number;
  /**
   * BroadcastChannel name shared by the app's tabs; `''` disables cross-tab sync.
   * @default 'hono-bff'
   */
  channelName?: string;
  /**
   * The fetch to use (tests, instrumentation).
   * @default globalThis.fetch, looked up at each call
   */
  fetch?: typeof fetch;
  /**
   * Millisecond clock for expiry timers.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Top-level navigation, used by `login` and `logout`.
   * @default location.assign
   */
  navigate?: (url: string) => void;
}

/**
 * A client for one BFF. Create it once per app with {@link createBffClient}.
 *
 * @example
 * ```ts
 * const bff = createBffClient();
 * bff.on('session', (session) => render(session));
 * const session = await bff.getSession();
 * if (!session.authenticated) bff.login();
 * const notes = await (await bff.fetch('/api/notes')).json();
 * ```
 */
export interface BffClient {
  /**
   * `fetch` with the session cookie and `x-csrf: 1` (the caller's headers are
   * kept). Resolves the Response for 2xx/3xx and for errors that are not
   * problem+json; throws a {@link BffError} for problem+json answers and, with
   * code `network_error`, when fetch rejects (an abort through the caller's own
   * signal is rethrown unchanged).
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** `GET {basePath}/session`: the current session; updates {@link BffClient.session}. */
  getSession(): Promise<BffSession>;
  /**
   * Navigates to the BFF's login. `returnTo` must be a same-origin path
   * (`/notes?x=1#y`); anything else becomes `/`.
   * @default returnTo: the current `pathname + search + hash`
   */
  login(returnTo?: string): void;
  /** `POST {basePath}/logout`, signs out every tab, then navigates to the IdP's end-session URL. */
  logout(): Promise<void>;
  /** `POST {basePath}/refresh`: refreshes the access token now; the new session. */
  refresh(): Promise<BffSession>;
  /** Each time the known session changes: results of `getSession`/`refresh`, sign-outs, other tabs. Returns an unsubscribe function. */
  on(event: 'session', listener: (session: BffSession) => void): () => void;
  /** Once per expiry, `expiryWarningSeconds` before the access token or the session expires. Returns an unsubscribe function. */
  on(event: 'expiring', listener: (info: ExpiryInfo) => void): () => void;
  /** Once per expiry, when the access token or the session expires. Returns an unsubscribe function. */
  on(event: 'expired', listener: (info: ExpiryInfo) => void): () => void;
  /** The last known session; `undefined` until something told. */
  readonly session: BffSession | undefined;
  /** Clears the expiry timers and leaves cross-tab sync; requests still work. */
  close(): void;
}

interface BffEvents {
  session: BffSession;
  expiring: ExpiryInfo;
  expired: ExpiryInfo;
}

const SIGNED_OUT: BffSession = { authenticated: false };

/**
 * Creates a client for one BFF. Nothing happens until it is used, except that
 * it joins the cross-tab channel.
 *
 * @throws TypeError when `baseUrl` is not an absolute URL
 * @example
 * ```ts
 * const bff = createBffClient({ onUnauthenticated: () => bff.login() });
 * ```
 */
export function createBffClient(options: BffClientOptions = {}): BffClient {
  const baseUrl = options.baseUrl ?? '';
  const basePath = options.basePath ?? '/bff';
  const credentials = options.credentials ?? (!baseUrl || new URL(baseUrl).origin === globalThis.location?.origin ? 'same-origin' : 'include');
  // One rule for API calls, the BFF's endpoints and the login URL; without baseUrl the page's origin applies.
  const resolve = (url: string): string => (baseUrl ? new URL(url, baseUrl).href : url);
  // Looked up per call, so a fetch patched after start-up (mocks, tracing) is used, and bound to globalThis.
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const navigate = options.navigate ?? ((url: string) => location.assign(url));
  const listeners: { [K in keyof BffEvents]: Set<(value: BffEvents[K]) => void> } = { session: new Set(), expiring: new Set(), expired: new Set() };
  const emit = <K extends keyof BffEvents>(event: K, value: BffEvents[K]): void => listeners[event].forEach((listener) => safely(listener, value));
  const timers = createExpiryTimers(options.now ?? Date.now, options.expiryWarningSeconds ?? 60, emit);
  let current: BffSession | undefined;
  let closed = false;
  const channel = openSessionChannel(options.channelName ?? 'hono-bff', (session) => apply(session, true));

  const post = (session: BffSession): void => {
    if (!closed) channel?.post(session.authenticated ? { type: 'session', session } : { type: 'logout' });
  };

  /** Records a session; tells the page and (unless it came from there) the other tabs when it changed. */
  const apply = (next: BffSession, fromOtherTab?: boolean): boolean => {
    // Comparing the whole view also catches changed claims, and makes re-polling an unchanged session silent.
    const changed = JSON.stringify(next) !== JSON.stringify(current);
    current = next;
    if (changed) {
      if (!closed) timers.arm(next);
      // A tab never re-sends what it received: that is what stops echo loops.
      if (!fromOtherTab) post(next);
      emit('session', next);
    }
    return changed;
  };

  const client: BffClient = {
    async fetch(input, init = {}) {
      const isRequest = input instanceof Request;
      // A Request's own headers would be replaced by init.headers: start from them.
      const headers = new Headers(init.headers ?? (isRequest ? input.headers : undefined));
      headers.set('x-csrf', '1');
      let response: Response;
      try {
        response = await send(typeof input === 'string' ? resolve(input) : input, { ...init, credentials: init.credentials ?? credentials, headers });
      } catch (cause) {
        // The caller's own abort is not a network failure and keeps its AbortError.
        if (init.signal?.aborted || (isRequest && input.signal.aborted)) throw cause;
        throw new BffError('network_error', 0, 'Network error', undefined, cause);
      }
      const problem = await readProblem(response);
      if (!problem) return response;
      if (problem.code === 'unauthenticated' || problem.code === 'session_expired') {
        apply(SIGNED_OUT);
        if (options.onUnauthenticated) safely(options.onUnauthenticated, problem);
      }
      throw problem;
    },

    getSession: () => fetchSession('/session', 'GET'),
    refresh: () => fetchSession('/refresh', 'POST'),

    login(returnTo = location.pathname + location.search + location.hash) {
      // The BFF checks returnTo as well; refusing here keeps a hostile value out of the login URL and the IdP's logs.
      const path = /^\/(?![/\\])[^\\\0- \x7f]*$/.test(returnTo) ? returnTo : '/';
      navigate(resolve(`${basePath}/login?returnTo=${encodeURIComponent(path)}`));
    },

    async logout() {
      // location.assign would run a javascript: URL in this page: only http(s) or a local path.
      const url = await readJson('/logout', 'POST', (body) => (isRecord(body) && typeof body.logoutUrl === 'string' && /^(https?:\/\/|\/(?![/\\]))/i.test(body.logoutUrl) ? body.logoutUrl : undefined));
      // The BFF has cleared the cookies: every tab is signed out, even if this one thought so already.
      if (!apply(SIGNED_OUT)) post(SIGNED_OUT);
      navigate(url);
    },

    on<K extends keyof BffEvents>(event: K, listener: (value: BffEvents[K]) => void) {
      listeners[event].add(listener);
      return () => void listeners[event].delete(listener);
    },

    get session() {
      return current;
    },

    close() {
      closed = true;
      timers.clear();
      channel?.close();
    },
  };

  /**
   * Calls one of the BFF's own JSON endpoints. Anything but a 2xx JSON answer
   * that `parse` accepts is `invalid_response` and changes nothing locally
   * (e.g. an HTML error page from a proxy in front of the BFF).
   */
  async function readJson<T>(path: string, method: string, parse: (body: unknown) => T | undefined): Promise<T> {
    const response = await client.fetch(basePath + path, { method });
    let body: unknown;
    try {
      body = response.ok ? await response.json() : undefined;
    } catch (cause) {
      throw invalidResponse(response.status, cause);
    }
    const value = parse(body);
    if (value === undefined) throw invalidResponse(response.status);
    return value;
  }

  async function fetchSession(path: string, method: string): Promise<BffSession> {
    const session = await readJson(path, method, toSession);
    apply(session);
    return session;
  }

  return client;
}

/**
 * Runs app code (listeners, `onUnauthenticated`) so that a throwing one can
 * neither reject the BFF call that triggered it nor silence the other
 * listeners; the error is rethrown asynchronously, so it is still reported.
 */
function safely<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch (error) {
    setTimeout(() => {
      throw error;
    });
  }
}
