import { Hono } from 'hono';
import { cors as honoCors } from 'hono/cors';
import { describe, expect, it } from 'vitest';
import { cors } from './cors.js';

const options = {
  origin: (origin: string) => (origin === 'https://app.example' ? origin : null),
  credentials: true,
  exposeHeaders: ['retry-after', 'x-request-id'],
  allowMethods: ['GET', 'POST'],
  maxAge: 600,
};

/** An app answering with a fresh response, a fetch-like response with immutable headers, or an error. */
function appWith(middleware: ReturnType<typeof cors>) {
  const app = new Hono();
  app.use('*', middleware);
  app.get('/ok', () => new Response('ok', { headers: { vary: 'Accept-Encoding' } }));
  app.get('/immutable', () => Response.redirect('https://app.example/elsewhere', 302));
  app.get('/error', () => {
    throw new Error('boom');
  });
  app.onError(() => new Response('problem', { status: 500 }));
  return app;
}

const headersOf = (response: Response) => Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control') || name === 'vary'));

describe('cors (hono/cors headers, set on the final response)', () => {
  it.each([
    ['an allowed origin', { origin: 'https://app.example' }],
    ['a foreign origin', { origin: 'https://evil.example' }],
    ['no origin', {}],
  ])('sets the same headers as hono/cors for %s', async (_name, headers) => {
    for (const path of ['/ok', '/error', '/immutable']) {
      const ours = await appWith(cors(options)).request(path, { headers });
      const hono = await appWith(honoCors(options)).request(path, { headers });
      expect(ours.status).toBe(hono.status);
      expect(headersOf(ours)).toEqual(headersOf(hono));
    }
  });

  it('answers preflights exactly as hono/cors', async () => {
    const headers = { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf' };
    const ours = await appWith(cors(options)).request('/ok', { method: 'OPTIONS', headers });
    const hono = await appWith(honoCors(options)).request('/ok', { method: 'OPTIONS', headers });
    expect(ours.status).toBe(204);
    expect([...ours.headers]).toEqual([...hono.headers]);
  });
});
