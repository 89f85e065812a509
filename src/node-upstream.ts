/**
 * A keep-alive upstream client for the Node adapter, behind the same
 * {@link FetchLike} interface the core uses (`deps.upstreamFetch`).
 *
 * Node 20's global `fetch` (undici plus web-stream conversions) costs several
 * times more CPU per proxied request than `node:http` with a keep-alive
 * `Agent`; this client keeps the fetch contract the proxy relies on while
 * forwarding through `node:http`/`node:https`:
 *
 * - one keep-alive `Agent` per protocol (sockets reused per origin, at most
 *   `maxSockets` per origin, idle sockets closed before the server's
 *   `Keep-Alive: timeout` hint);
 * - request bodies stream from the Web `ReadableStream` (small ones with a
 *   known length are buffered), response bodies stream as a Web
 *   `ReadableStream` with backpressure (small ones with a known length are
 *   buffered);
 * - redirects are never followed: `redirect: 'manual'` and `'follow'` both
 *   return the 3xx as it came, `'error'` rejects with a TypeError;
 * - `signal`: rejects with `signal.reason` (AbortError / TimeoutError) before
 *   the response, errors the body stream with it afterwards, and tears the
 *   upstream request down either way;
 * - failures reject like fetch: a `TypeError` ("fetch failed") with the
 *   network error as `cause`;
 * - response headers are kept as received (several `Set-Cookie` lines stay
 *   separate for `headers.getSetCookie()`), except the connection-level ones
 *   (`Connection` and the headers it names, `Keep-Alive`,
 *   `Transfer-Encoding`), which described the hop this client consumed;
 *   request hop-by-hop headers and `Host` are never sent as given;
 * - `Content-Encoding` gzip/deflate/br bodies are decoded, as fetch does (the
 *   header is kept, as fetch does); no `Accept-Encoding` is added (fetch adds
 *   one), so an upstream only compresses when the caller asked for it.
 *
 * Node-only: listed in the portability guard's allow-list.
 */
import http from 'node:http';
import https from 'node:https';
import { Transform, type Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { rememberBufferedBody, type FetchLike } from './fetch.js';

/** Options of {@link createNodeUpstreamFetch}. */
export interface NodeUpstreamOptions {
  /** Most concurrent sockets per upstream origin (more requests wait in the agent's queue). @default 256 */
  maxSockets?: number;
  /** Most idle sockets kept per upstream origin. @default 64 */
  maxFreeSockets?: number;
  /** Idle time after which a pooled socket is closed (the server's Keep-Alive hint wins when shorter). @default 15000 */
  idleTimeoutMs?: number;
  /** Bodies with a known length up to this many bytes are buffered instead of streamed (both ways). @default 65536 */
  bufferBytes?: number;
}

/** A {@link FetchLike} over node:http/node:https keep-alive agents. */
export interface NodeUpstreamFetch extends FetchLike {
  /** Closes the pooled sockets (in-flight requests finish). */
  close(): void;
}

/** Hop-by-hop request headers (RFC 9110 7.6.1) and those the client sets itself. */
const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
/** Response headers describing the consumed connection, not the message. */
const CONNECTION_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);
/** Statuses whose response never has a body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Methods retried once when a reused keep-alive socket turns out to be closed before any answer. */
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

interface Prepared {
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** `null`: no body; a buffer: sent at once; a stream: piped. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  signal: AbortSignal | null | undefined;
  redirect: RequestRedirect;
}

/**
 * Creates the Node upstream client. One instance per app is enough: its
 * agents pool sockets per origin.
 */
export function createNodeUpstreamFetch(options: NodeUpstreamOptions = {}): NodeUpstreamFetch {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: options.maxFreeSockets ?? 64,
    timeout: options.idleTimeoutMs ?? 15_000,
    scheduling: 'lifo',
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const bufferBytes = options.bufferBytes ?? 64 * 1024;

  const upstreamFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const prepared = await prepare(input, init, bufferBytes);
    const { signal } = prepared;
    if (signal?.aborted) {
      await cancelBody(prepared.body, signal.reason);
      throw abortReason(signal);
    }
    return send(prepared, prepared.url.protocol === 'https:' ? httpsAgent : httpAgent, bufferBytes, true);
  };
  return Object.assign(upstreamFetch, {
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}

/** Normalises fetch's arguments; bodies of unusual types go through a `Request` to get fetch's encoding and content type. */
async function prepare(input: string | URL | Request, init: RequestInit | undefined, bufferBytes: number): Promise<Prepared> {
  let request: Request | undefined;
  if (input instanceof Request) {
    request = init === undefined ? input : new Request(input, init);
  } else if (init?.body != null && !isPlainBody(init.body)) {
    request = new Request(input, init);
  }
  if (request) {
    const headers = outgoingHeaders(request.headers);
    const method = request.method;
    let body: Prepared['body'] = null;
    if (request.body !== null && method !== 'GET' && method !== 'HEAD') {
      const length = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
      // Small bodies of known length: one write, no stream pump.
      body = length <= bufferBytes ? new Uint8Array(await request.arrayBuffer()) : request.body;
    }
    return { url: new URL(request.url), method, headers, body, signal: request.signal, redirect: request.redirect };
  }
  const url = new URL(input as string | URL);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) });
  const method = normaliseMethod(init?.method ?? 'GET');
  const headers = outgoingHeaders(init?.headers instanceof Headers ? init.headers : new Headers(init?.headers));
  let body: Prepared['body'] = null;
  const raw = init?.body;
  if (raw != null) {
    if (method === 'GET' || method === 'HEAD') throw new TypeError('Request with GET/HEAD method cannot have body.');
    if (typeof raw === 'string') {
      body = new TextEncoder().encode(raw);
      headers['content-type'] ??= 'text/plain;charset=UTF-8';
    } else if (raw instanceof ReadableStream) {
      body = raw as ReadableStream<Uint8Array>;
    } else if (raw instanceof ArrayBuffer) {
      body = new Uint8Array(raw);
    } else {
      const view = raw as ArrayBufferView;
      body = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    }
  }
  return { url, method, headers, body, signal: init?.signal, redirect: init?.redirect ?? 'follow' };
}

function isPlainBody(body: BodyInit): boolean {
  return typeof body === 'string' || body instanceof ReadableStream || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}

function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}

/** Headers as node:http sends them: hop-by-hop ones and those named by `Connection` dropped, `Host` from the URL. */
function outgoingHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  const named = headers.get('connection');
  const alsoDropped = named ? new Set(named.split(',').map((name) => name.trim().toLowerCase())) : undefined;
  headers.forEach((value, name) => {
    if (DROPPED_REQUEST_HEADERS.has(name) || alsoDropped?.has(name)) return;
    out[name] = value;
  });
  return out;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

async function cancelBody(body: Prepared['body'], reason: unknown): Promise<void> {
  if (body instanceof ReadableStream) await body.cancel(reason).catch(() => undefined);
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** Sends one request; resolves with the response (after its body when it is small and of known length). */
function send(prepared: Prepared, agent: http.Agent, bufferBytes: number, mayRetry: boolean): Promise<Response> {
  const { url, method, headers, body, signal } = prepared;
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    let response: http.IncomingMessage | undefined;
    /** Errors the streamed response body, once the response has been handed out. */
    let failBody: ((error: unknown) => void) | undefined;

    const onAbort = () => {
      const reason = abortReason(signal!);
      request.destroy();
      response?.destroy();
      void cancelBody(body, reason);
      if (!settled) {
        settled = true;
        reject(reason);
      } else failBody?.(reason);
    };
    const cleanup = () => signal?.removeEventListener('abort', onAbort);

    let request: http.ClientRequest;
    try {
      request = (url.protocol === 'https:' ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        agent,
      });
    } catch (error) {
      // Invalid header names or values, as fetch would refuse them.
      void cancelBody(body, error);
      reject(error instanceof TypeError ? error : fetchFailed(error));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) {
        failBody?.(terminated(error));
        cleanup();
        return;
      }
      settled = true;
      cleanup();
      // A pooled socket the server closed while idle: retry once on a fresh one, for requests that can be repeated.
      if (mayRetry && request.reusedSocket && response === undefined && body === null && RETRYABLE_METHODS.has(method) && RETRYABLE_CODES.has(error.code ?? '') && !signal?.aborted) {
        send(prepared, agent, bufferBytes, false).then(resolve, reject);
        return;
      }
      void cancelBody(body, error);
      reject(fetchFailed(error));
    });

    request.on('response', (res) => {
      response = res;
      const status = res.statusCode ?? 0;
      if (prepared.redirect === 'error' && status >= 300 && status < 400 && res.headers.location !== undefined) {
        settled = true;
        cleanup();
        res.destroy();
        reject(fetchFailed(new Error('unexpected redirect')));
        return;
      }
      if (status < 200 || status > 599) {
        settled = true;
        cleanup();
        res.destroy();
        reject(fetchFailed(new RangeError(`upstream answered with status ${status}`)));
        return;
      }
      const responseHeaders = incomingHeaders(res.rawHeaders);
      const init: ResponseInit = { status, statusText: res.statusMessage ?? '', headers: responseHeaders };
      const finish = (bodyInit: BodyInit | null, buffered?: Uint8Array<ArrayBuffer>) => {
        settled = true;
        let out: Response;
        try {
          out = new Response(bodyInit, init);
        } catch (error) {
          res.destroy();
          reject(fetchFailed(error));
          return;
        }
        resolve(buffered ? rememberBufferedBody(out, { bytes: buffered, statusText: init.statusText ?? '' }) : out);
      };

      if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
        res.resume();
        res.once('end', cleanup);
        finish(null);
        return;
      }
      const decoders = decodersFor(responseHeaders.get('content-encoding'));
      const length = res.headers['content-length'] === undefined ? NaN : Number(res.headers['content-length']);
      if (decoders.length === 0 && length <= bufferBytes) {
        // Small body of known length: buffered, so the adapter writes it in one go.
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          cleanup();
          if (settled) return;
          // A Buffer is a Uint8Array (over an ArrayBuffer, never shared, for socket data).
          const bytes = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)) as Uint8Array<ArrayBuffer>;
          finish(bytes, bytes);
        });
        res.once('error', (error) => {
          cleanup();
          if (settled) return;
          settled = true;
          reject(fetchFailed(error));
        });
        res.once('close', () => {
          if (!res.complete && !settled) {
            settled = true;
            cleanup();
            reject(fetchFailed(new Error('upstream closed the connection before the end of the body')));
          }
        });
        return;
      }
      const source: NodeJS.ReadableStream & { destroy(error?: Error): void } = decoders.length === 0 ? res : pipeline(res, decoders);
      const stream = webStreamOf(res, source, (error) => (failBody = error), cleanup);
      finish(stream);
    });

    // Request body.
    if (body === null) request.end();
    else if (body instanceof Uint8Array) {
      if (headers['content-length'] === undefined) request.setHeader('content-length', body.byteLength);
      request.end(body);
    } else pump(body, request).catch((error: unknown) => request.destroy(error instanceof Error ? error : new Error(String(error))));
  });
}

/** Response headers from node's raw list, connection-level ones dropped. */
function incomingHeaders(raw: string[]): Headers {
  const headers = new Headers();
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      named ??= new Set();
      for (const name of raw[i + 1]!.split(',')) named.add(name.trim().toLowerCase());
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (CONNECTION_RESPONSE_HEADERS.has(name) || named?.has(name)) continue;
    try {
      headers.append(name, raw[i + 1]!);
    } catch {
      // A header fetch would refuse (invalid value): dropped rather than failing the response.
    }
  }
  return headers;
}

/** Decoders for a Content-Encoding list, outermost last, as fetch applies them; none when one is unknown. */
function decodersFor(contentEncoding: string | null): Duplex[] {
  if (!contentEncoding) return [];
  const codings = contentEncoding.toLowerCase().split(',').map((coding) => coding.trim()).filter(Boolean);
  const decoders: Duplex[] = [];
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i];
    const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(zlib.createGunzip(flush));
    else if (coding === 'deflate') decoders.push(inflateAnyDeflate());
    else if (coding === 'br') decoders.push(zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }));
    else if (coding !== 'identity') return [];
  }
  return decoders;
}

/** `deflate` as servers send it: zlib-wrapped (RFC 1950), or raw (RFC 1951) as some do. */
function inflateAnyDeflate(): Duplex {
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  let inner: zlib.Inflate | zlib.InflateRaw | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!inner) {
        inner = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(flush) : zlib.createInflateRaw(flush);
        inner.on('data', (data: Buffer) => this.push(data));
        inner.on('error', (error) => this.destroy(error));
      }
      inner.write(chunk, () => callback());
    },
    flush(callback) {
      if (!inner) return callback();
      inner.once('end', () => callback());
      inner.end();
    },
  });
}

/** Pipes `source` through decoders, errors and teardown propagated both ways. */
function pipeline(source: http.IncomingMessage, decoders: Duplex[]): Duplex {
  let current: NodeJS.ReadableStream = source;
  const all: Array<{ destroy(error?: Error): void; on(event: 'error', listener: (error: Error) => void): unknown }> = [source, ...decoders];
  for (const stage of all) stage.on('error', (error) => all.forEach((other) => other !== stage && other.destroy(error)));
  for (const decoder of decoders) current = current.pipe(decoder);
  return current as Duplex;
}

/** TypeError("terminated") as fetch reports a body cut short. */
function terminated(cause: unknown): TypeError {
  return new TypeError('terminated', { cause });
}

/**
 * A Web ReadableStream over a Node readable, with backpressure (the socket is
 * paused while the consumer lags) and teardown of the upstream response when
 * the consumer cancels.
 */
function webStreamOf(
  response: http.IncomingMessage,
  source: NodeJS.ReadableStream & { destroy(error?: Error): void },
  exposeFail: (fail: (error: unknown) => void) => void,
  cleanup: () => void,
): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (error: unknown) => {
          if (done) return;
          done = true;
          cleanup();
          controller.error(error);
          source.destroy();
          response.destroy();
        };
        exposeFail(fail);
        source.on('data', (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) source.pause();
        });
        source.once('end', () => {
          if (done) return;
          done = true;
          cleanup();
          controller.close();
        });
        source.once('error', (error) => fail(terminated(error)));
        response.once('close', () => {
          // Closed before the whole body arrived (and not by our own teardown).
          if (!done && !response.complete) fail(terminated(new Error('upstream closed the connection before the end of the body')));
        });
      },
      pull() {
        source.resume();
      },
      cancel() {
        if (done) return;
        done = true;
        cleanup();
        source.destroy();
        response.destroy();
      },
    },
    // Up to 256 KiB buffered per response before the upstream socket is paused (fewer pause/resume turns).
    { highWaterMark: 256 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** Writes a Web ReadableStream into a request, waiting for `drain`; ends it at the end. */
async function pump(body: ReadableStream<Uint8Array>, request: http.ClientRequest): Promise<void> {
  const reader = body.getReader();
  const stopped = new Promise<void>((resolve) => request.once('close', resolve));
  let closed = false;
  void stopped.then(() => {
    closed = true;
    reader.cancel().catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (closed) return;
      if (done) break;
      if (!request.write(value)) await Promise.race([new Promise<void>((resolve) => request.once('drain', resolve)), stopped]);
    }
    request.end();
  } catch (error) {
    if (!closed) throw error;
  }
}
