/**
 * Cross-tab sync: tabs of one origin share the session cookie, so when one tab
 * learns that the session changed (login, refresh, logout), the others should
 * know without asking the BFF.
 */
import { isRecord } from './errors.js';
import { toSession, type BffSession } from './session.js';

/**
 * What tabs tell each other. Only the public session view ever travels (the
 * page holds no token anyway), so any script on the origin may read it.
 *
 * @example
 * ```ts
 * channel.post({ type: 'logout' });
 * ```
 */
export type SyncMessage = { type: 'session'; session: BffSession } | { type: 'logout' };

/**
 * A tab's end of the session channel.
 *
 * @example
 * ```ts
 * const channel = openSessionChannel('hono-bff', (session) => render(session));
 * channel?.post({ type: 'logout' });
 * channel?.close();
 * ```
 */
export interface SessionChannel {
  /** Sends to every other tab (never to this one: BroadcastChannel skips the sender). */
  post(message: SyncMessage): void;
  /** Stops sending and receiving. */
  close(): void;
}

/**
 * Opens the session channel, or returns `undefined` when sync is disabled
 * (`name` is `''`) or the runtime has no BroadcastChannel (old browsers, SSR).
 *
 * @param name - BroadcastChannel name; tabs with the same name share sessions
 * @param receive - gets each valid session another tab sent; `logout` arrives as `{ authenticated: false }`
 * @example
 * ```ts
 * const channel = openSessionChannel('hono-bff', (session) => render(session));
 * ```
 */
export function openSessionChannel(name: string, receive: (session: BffSession) => void): SessionChannel | undefined {
  if (!name || typeof BroadcastChannel !== 'function') return undefined;
  const channel = new BroadcastChannel(name);
  channel.onmessage = ({ data }: MessageEvent<unknown>) => {
    // Another tab may run another version of the app: check before trusting.
    const session = !isRecord(data) ? undefined : data.type === 'logout' ? { authenticated: false as const } : data.type === 'session' ? toSession(data.session) : undefined;
    if (session) receive(session);
  };
  return {
    post: (message) => channel.postMessage(message),
    close: () => channel.close(),
  };
}
