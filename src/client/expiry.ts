/**
 * Expiry timers: tell the page shortly before and at the moment the access
 * token or the session ends, so it can warn the user or refresh in time.
 */
import type { BffSession } from './session.js';

/**
 * Payload of the `expiring` and `expired` events.
 *
 * @example
 * ```ts
 * client.on('expiring', ({ kind, secondsLeft }) => kind === 'session' && warn(`Signing out in ${secondsLeft} s`));
 * ```
 */
export interface ExpiryInfo {
  /** `accessToken`: the BFF will refresh it on the next call; `session`: the user must log in again. */
  kind: 'accessToken' | 'session';
  /** Epoch seconds. */
  expiresAt: number;
  /** Whole seconds left at the moment the event fires (never negative). */
  secondsLeft: number;
}

/** Longest delay `setTimeout` honours; longer ones fire at once, so long waits are split. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The timers of one client: {@link ExpiryTimers.arm} replaces every timer for
 * a new session (an unauthenticated one leaves none).
 *
 * @example
 * ```ts
 * const timers = createExpiryTimers(Date.now, 60, (event, info) => console.log(event, info));
 * timers.arm(session);
 * ```
 */
export interface ExpiryTimers {
  /** Clears all timers and, for an authenticated session, starts new ones. */
  arm(session: BffSession): void;
  /** Clears all timers. */
  clear(): void;
}

/**
 * Creates the expiry timers of a client.
 *
 * @param now - ms clock used for every delay, so tests and skewed clocks agree with the events
 * @param warningSeconds - how long before expiry `expiring` fires
 * @param emit - receives `expiring` and `expired`
 * @example
 * ```ts
 * const timers = createExpiryTimers(Date.now, 60, emit);
 * ```
 */
export function createExpiryTimers(now: () => number, warningSeconds: number, emit: (event: 'expiring' | 'expired', info: ExpiryInfo) => void): ExpiryTimers {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  // Sessions are re-armed on every change (refresh, other tabs, polling); an event
  // already delivered for the same expiry must not repeat.
  const fired = new Set<string>();

  const clear = (): void => {
    timers.forEach(clearTimeout);
    timers.clear();
  };

  const schedule = (event: 'expiring' | 'expired', kind: ExpiryInfo['kind'], expiresAt: number, atMs: number): void => {
    const key = `${event} ${kind} ${expiresAt}`;
    if (fired.has(key)) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const nowMs = now();
      if (nowMs < atMs) return schedule(event, kind, expiresAt, atMs);
      fired.add(key);
      const secondsLeft = Math.max(0, Math.round(expiresAt - nowMs / 1000));
      // A warning that comes too late (the device slept, or the session arrived already
      // expired) would only precede `expired`: skip it.
      if (event === 'expired' || nowMs < expiresAt * 1000) emit(event, { kind, expiresAt, secondsLeft });
    }, Math.min(Math.max(0, atMs - now()), MAX_DELAY_MS));
    timers.add(timer);
  };

  return {
    arm(session) {
      clear();
      if (!session.authenticated) return fired.clear();
      for (const [kind, expiresAt] of [['accessToken', session.accessTokenExpiresAt], ['session', session.sessionExpiresAt]] as const) {
        schedule('expiring', kind, expiresAt, (expiresAt - warningSeconds) * 1000);
        schedule('expired', kind, expiresAt, expiresAt * 1000);
      }
    },
    clear,
  };
}
