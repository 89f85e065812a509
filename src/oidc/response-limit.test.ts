import { describe, expect, it } from 'vitest';
import { IdpResponseTooLargeError, limitResponseSize } from './response-limit.js';

const serve = (body: BodyInit, headers: Record<string, string> = {}) => async () => new Response(body, { headers });

describe('limitResponseSize', () => {
  it('passes small responses through unchanged', async () => {
    const res = await limitResponseSize(serve('{"a":1}', { 'content-type': 'application/json' }), 100)('http://idp.test/x');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ a: 1 });
  });

  it('refuses at once when Content-Length is over the limit', async () => {
    await expect(limitResponseSize(serve('x'.repeat(10), { 'content-length': '500' }), 100)('http://idp.test/x')).rejects.toBeInstanceOf(IdpResponseTooLargeError);
  });

  it('errors while reading a streamed body that grows past the limit', async () => {
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(64));
      },
    });
    const res = await limitResponseSize(serve(stream), 1000)('http://idp.test/x');
    await expect(res.text()).rejects.toBeInstanceOf(TypeError);
  });
});
