import { describe, expect, it } from 'vitest';
import { forwardedClientAddress, isIpAddressLike } from './client-address.js';

describe('forwardedClientAddress', () => {
  it('0 trusted hops: the header is never used', () => {
    expect(forwardedClientAddress('203.0.113.9', 0)).toBeUndefined();
  });

  it('1 trusted hop: the right-most entry, whatever the client wrote to its left', () => {
    expect(forwardedClientAddress('203.0.113.9', 1)).toBe('203.0.113.9');
    expect(forwardedClientAddress('6.6.6.6, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(forwardedClientAddress('6.6.6.6,203.0.113.9 ', 1)).toBe('203.0.113.9');
  });

  it('N trusted hops: the N-th entry from the right (what the outermost trusted proxy saw)', () => {
    expect(forwardedClientAddress('6.6.6.6, 203.0.113.9, 10.0.0.2', 2)).toBe('203.0.113.9');
    expect(forwardedClientAddress('2001:db8::7, 10.0.0.2', 2)).toBe('2001:db8::7');
  });

  it('fewer entries than hops, no header, or an entry that is not an address: undefined (the socket address applies)', () => {
    expect(forwardedClientAddress('203.0.113.9', 2)).toBeUndefined();
    expect(forwardedClientAddress(undefined, 1)).toBeUndefined();
    expect(forwardedClientAddress('', 1)).toBeUndefined();
    expect(forwardedClientAddress('1.2.3.4, unknown', 1)).toBeUndefined();
    expect(forwardedClientAddress('1.2.3.4, ', 1)).toBeUndefined();
    expect(forwardedClientAddress('"><script>', 1)).toBeUndefined();
  });
});

describe('isIpAddressLike', () => {
  it.each(['127.0.0.1', '::1', '2001:db8::1', '::ffff:10.0.0.1'])('accepts %s', (value) => expect(isIpAddressLike(value)).toBe(true));
  it.each(['', 'localhost', '1', 'abc', '1.2.3.4:80x', 'a'.repeat(46)])('refuses %s', (value) => expect(isIpAddressLike(value)).toBe(false));
});
