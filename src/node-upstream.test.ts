/**
 * The Node upstream client against real loopback `node:http` servers:
 * streaming both ways, abort and timeout, redirects never followed, header
 * handling, keep-alive reuse, and errors shaped like fetch's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { takeBufferedBody } from './fetch.js';
import { createNodeUpstreamFetch } from './node-upstream.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end('no handler');
const upstream = createNodeUpstreamFetch();

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  handler = (_req, res) => res.end('no handler');
});
afterAll(async () => {
  upstream.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const MB = 1024 * 1024;

/** Reads a request body completely. */
async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves when `fn` is called. */
function signal(): { promise: Promise<void>; fire(): void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

describe('createNodeUpstreamFetch', () => {
  it('answers a small JSON request with a standard Response', async () => {
    handler = (req, res) => {
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-path': req.url ?? '' });
      res.end(JSON.stringify({ method: req.method }));
    };
    const response = await upstream(`${base}/a/b?c=1`, { method: 'put', body: 'x' });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('x-path')).toBe('/a/b?c=1');
    expect(await response.json()).toEqual({ method: 'PUT' });
  });

  it('hands small bodies of known length over as bytes (takeBufferedBody), large ones as a stream', async () => {
    handler = (req, res) => {
      const size = req.url === '/small' ? 1000 : 200 * 1024;
      res.writeHead(200, { 'content-length': String(size) });
      res.end(Buffer.alloc(size, 0x61));
    };
    const small = await upstream(`${base}/small`);
    const buffered = takeBufferedBody(small);
    expect(buffered?.bytes.byteLength).toBe(1000);
    expect(buffered?.statusText).toBe('OK');
    expect(takeBufferedBody(small)).toBeUndefined();
    const large = await upstream(`${base}/large`);
    expect(takeBufferedBody(large)).toBeUndefined();
    expect((await large.arrayBuffer()).byteLength).toBe(200 * 1024);
  });

  it('streams a 1 MB response: the first bytes arrive before the upstream has sent the rest', async () => {
    const readFirst = signal();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MB) });
      res.write(Buffer.alloc(MB / 2, 0x61));
      // The second half is only sent once the client has read from the body.
      void readFirst.promise.then(() => res.end(Buffer.alloc(MB / 2, 0x62)));
    };
    const response = await upstream(`${base}/large`);
    expect(response.body).toBeInstanceOf(ReadableStream);
    const reader = response.body!.getReader();
    let total = 0;
    let chunks = 0;
    let last = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (chunks === 0) readFirst.fire();
      chunks++;
      total += value.byteLength;
      last = value[value.byteLength - 1]!;
    }
    expect(total).toBe(MB);
    expect(chunks).toBeGreaterThan(1);
    expect(last).toBe(0x62);
  });

  it('streams a 1 MB request body from a ReadableStream: the upstream reads it before the stream has ended', async () => {
    const upstreamGotData = signal();
    handler = (req, res) => {
      let size = 0;
      req.once('data', () => upstreamGotData.fire());
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => res.end(JSON.stringify({ size, chunked: req.headers['transfer-encoding'] === 'chunked' })));
    };
    const half = new Uint8Array(MB / 2).fill(0x61);
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(half);
        else if (step === 1) {
          // Only continue once the upstream has seen the first half: the body is not buffered.
          await upstreamGotData.promise;
          controller.enqueue(half);
        } else controller.close();
        step++;
      },
    });
    const response = await upstream(`${base}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await response.json()).toEqual({ size: MB, chunked: true });
  });

  it('sends a Request body of known length (buffered when small, streamed when large) with that length', async () => {
    handler = async (req, res) => {
      const body = await readAll(req);
      res.end(JSON.stringify({ size: body.length, length: req.headers['content-length'] ?? null, type: req.headers['content-type'] }));
    };
    for (const size of [16 * 1024, MB]) {
      const bytes = new Uint8Array(size).fill(1);
      const stream = new Response(bytes).body!;
      const request = new Request(`${base}/echo`, { method: 'POST', body: stream, headers: { 'content-length': String(size), 'content-type': 'application/x-test' }, duplex: 'half' } as RequestInit);
      const response = await upstream(request);
      expect(await response.json()).toEqual({ size, length: String(size), type: 'application/x-test' });
    }
  });

  it('rejects with an AbortError when aborted before the answer, and closes the upstream request', async () => {
    const closed = signal();
    handler = (req) => req.socket.once('close', () => closed.fire());
    const controller = new AbortController();
    const pending = upstream(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await closed.promise;
  });

  it('rejects with a TimeoutError for AbortSignal.timeout', async () => {
    handler = () => undefined;
    await expect(upstream(`${base}/hang`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects at once for an already aborted signal, without a request', async () => {
    let hits = 0;
    handler = (_req, res) => {
      hits++;
      res.end();
    };
    await expect(upstream(`${base}/x`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(hits).toBe(0);
  });

  it('errors the body stream when aborted during the download (the client went away)', async () => {
    const closed = signal();
    handler = (req, res) => {
      req.socket.once('close', () => closed.fire());
      res.writeHead(200, { 'content-length': String(MB) });
      res.write(Buffer.alloc(128 * 1024));
    };
    const controller = new AbortController();
    const response = await upstream(`${base}/slow`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect((async () => {
      for (;;) if ((await reader.read()).done) return;
    })()).rejects.toMatchObject({ name: 'AbortError' });
    await closed.promise;
  });

  it('never follows redirects (manual and follow), and rejects with a TypeError for redirect: error', async () => {
    let targetHits = 0;
    handler = (req, res) => {
      if (req.url === '/target') {
        targetHits++;
        res.end('target');
        return;
      }
      res.writeHead(302, { location: '/target' });
      res.end();
    };
    for (const redirect of ['manual', 'follow'] as const) {
      const response = await upstream(`${base}/redirect`, { redirect });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/target');
    }
    await expect(upstream(`${base}/redirect`, { redirect: 'error' })).rejects.toBeInstanceOf(TypeError);
    expect(targetHits).toBe(0);
  });

  it('keeps several Set-Cookie lines apart, and drops connection-level response headers', async () => {
    handler = (_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
      res.setHeader('connection', 'keep-alive, x-hop');
      res.setHeader('x-hop', 'secret');
      res.setHeader('x-kept', 'yes');
      res.setHeader('keep-alive', 'timeout=5');
      res.end('ok');
    };
    const response = await upstream(`${base}/cookies`);
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    expect(response.headers.get('x-kept')).toBe('yes');
    for (const name of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) expect(response.headers.has(name)).toBe(false);
    await response.text();
  });

  it('does not send hop-by-hop request headers or Host as given', async () => {
    let seen: IncomingMessage['headers'] = {};
    handler = (req, res) => {
      seen = req.headers;
      res.end();
    };
    const headers = new Headers({
      connection: 'x-named',
      'x-named': 'drop me',
      'keep-alive': 'timeout=1',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-t',
      upgrade: 'websocket',
      host: 'evil.example',
      'x-kept': 'yes',
    });
    await (await upstream(`${base}/headers`, { headers })).arrayBuffer();
    expect(seen['x-kept']).toBe('yes');
    expect(seen.host).toBe(new URL(base).host);
    for (const name of ['x-named', 'proxy-connection', 'te', 'trailer', 'upgrade']) expect(seen[name]).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen.connection).toBe('keep-alive');
  });

  it('reuses keep-alive sockets', async () => {
    const ports: number[] = [];
    handler = (req, res) => {
      ports.push(req.socket.remotePort!);
      res.end('x');
    };
    for (let i = 0; i < 3; i++) await (await upstream(`${base}/ka`)).text();
    expect(new Set(ports).size).toBe(1);
  });

  it('rejects with TypeError("fetch failed") on connection failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await upstream(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
    expect(((error as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('errors the body with a TypeError when the upstream cuts the response short', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': String(MB) });
      res.write(Buffer.alloc(100 * 1024), () => setTimeout(() => res.socket?.destroy(), 20));
    };
    const response = await upstream(`${base}/cut`);
    await expect(response.arrayBuffer()).rejects.toBeInstanceOf(TypeError);
  });

  it('has no body for HEAD and 204, and decodes gzip as fetch does', async () => {
    handler = (req, res) => {
      if (req.url === '/204') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
        res.end(gzipSync(Buffer.from('hello '.repeat(1000))));
      } else {
        res.writeHead(200, { 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
      }
    };
    expect((await upstream(`${base}/204`)).body).toBeNull();
    const head = await upstream(`${base}/x`, { method: 'HEAD' });
    expect(head.body).toBeNull();
    expect(head.headers.get('content-length')).toBe('5');
    const gzip = await upstream(`${base}/gzip`);
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(await gzip.text()).toBe('hello '.repeat(1000));
  });

  it('fails the request (a rejection, no hang) when the request body stream errors', async () => {
    handler = async (req, res) => {
      await readAll(req).catch(() => undefined);
      res.end();
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1000));
        setTimeout(() => controller.error(new RangeError('request body too large')), 20);
      },
    });
    const error = await upstream(`${base}/fail`, { method: 'POST', body, duplex: 'half' } as RequestInit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).cause).toBeInstanceOf(RangeError);
  });
});
