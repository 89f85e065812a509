import { describe, expect, it } from 'vitest';
import { acceptRequestId } from './request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('acceptRequestId', () => {
  it.each(['abc', '1-5e1b4151-5ac6c58f', 'trace:span.1_x', 'a'.repeat(128)])('keeps the well-formed id %s', (id) => {
    expect(acceptRequestId(id)).toBe(id);
  });

  it.each([null, undefined, '', 'a'.repeat(129), 'has space', 'new\nline', '"quoted"', 'ü', 'a/b', 'x=1'])('replaces %j with a fresh UUID', (id) => {
    const accepted = acceptRequestId(id);
    expect(accepted).toMatch(UUID);
    expect(acceptRequestId(id)).not.toBe(accepted);
  });
});
