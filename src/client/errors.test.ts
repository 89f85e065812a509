import { describe, expect, it } from 'vitest';
import { BffError, readProblem } from './errors.js';

const problem = (body: string, status: number, headers: Record<string, string> = {}): Response =>
  new Response(body, { status, headers: { 'content-type': 'application/problem+json', ...headers } });

describe('readProblem', () => {
  it('turns a problem+json answer into a BffError with code, status, title and numeric Retry-After', async () => {
    const error = await readProblem(problem('{"type":"about:blank","title":"The identity provider is unavailable","status":503,"code":"idp_unavailable"}', 503, { 'retry-after': '5' }));
    expect(error).toBeInstanceOf(BffError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'BffError', code: 'idp_unavailable', status: 503, title: 'The identity provider is unavailable', message: 'The identity provider is unavailable', retryAfter: 5 });
  });

  it('accepts media type parameters and any case', async () => {
    const response = new Response('{"title":"Not logged in","code":"unauthenticated"}', { status: 401, headers: { 'content-type': 'Application/Problem+JSON; charset=utf-8' } });
    expect(await readProblem(response)).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it('falls back to http_<status> when the body has no code, and ignores a Retry-After date', async () => {
    const error = await readProblem(problem('{"title":"Too busy"}', 429, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }));
    expect(error).toMatchObject({ code: 'http_429', status: 429, title: 'Too busy' });
    expect(error?.retryAfter).toBeUndefined();
  });

  it('reports a problem body that is not JSON, or not an object, as invalid_response', async () => {
    expect(await readProblem(problem('<html>oops</html>', 502))).toMatchObject({ code: 'invalid_response', status: 502 });
    expect(await readProblem(problem('"just a string"', 500))).toMatchObject({ code: 'invalid_response', status: 500 });
  });

  it('leaves every other answer to the caller', async () => {
    expect(await readProblem(new Response('{"code":"unauthenticated"}', { status: 401, headers: { 'content-type': 'application/json' } }))).toBeUndefined();
    expect(await readProblem(new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }))).toBeUndefined();
    expect(await readProblem(new Response(null, { status: 204 }))).toBeUndefined();
  });
});

describe('contract with the server', () => {
  it('reads what the BFF sends: code, status, title and Retry-After survive the trip', async () => {
    // The server side is imported here only: the client module itself must not pull server code.
    const server = await import('../errors.js');
    for (const code of Object.keys(server.ERROR_CODES) as Array<keyof typeof server.ERROR_CODES>) {
      const sent = new server.BffError(code, { retryAfter: 7 });
      const received = await readProblem(server.problemResponse(sent));
      expect(received).toMatchObject({ code, status: sent.status, title: sent.title, retryAfter: 7 });
    }
  });
});
