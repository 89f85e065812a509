/**
 * The fetch-like function type through which every outbound call goes, so an
 * adapter can supply a faster or instrumented client and tests can count calls.
 */

/** A `fetch`-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The body of a response that its {@link FetchLike} already holds in memory (a small, buffered answer). */
export interface BufferedBody {
  bytes: Uint8Array<ArrayBuffer>;
  statusText: string;
}

const bufferedBodies = new WeakMap<Response, BufferedBody>();

/**
 * Records that `response`'s body is `body.bytes`, already in memory. A client
 * that buffers small answers (the Node upstream client) calls this so the
 * proxy can pass the bytes on as they are: reading `body` (a stream) or
 * `statusText` of a Response can cost a conversion on some runtimes (on
 * Node, @hono/node-server's lightweight Response materialises a full one).
 */
export function rememberBufferedBody(response: Response, body: BufferedBody): Response {
  bufferedBodies.set(response, body);
  return response;
}

/**
 * The in-memory body of a response, if its FetchLike recorded one, taken: a
 * second call returns undefined, and the caller must not read the
 * response's own body afterwards.
 */
export function takeBufferedBody(response: Response): BufferedBody | undefined {
  const body = bufferedBodies.get(response);
  if (body) bufferedBodies.delete(response);
  return body;
}
