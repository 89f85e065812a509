import { describe, expect, it } from 'vitest';
import { clientBucketKey } from './limit.js';

describe('clientBucketKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(clientBucketKey(address)).toBe(key);
  });

  it('puts every address of one /64 in one bucket (rotating the interface id does not help)', () => {
    expect(clientBucketKey('2001:db8:aa:bb:1::1')).toBe(clientBucketKey('2001:db8:aa:bb:ffff:ffff:ffff:ffff'));
    expect(clientBucketKey('2001:db8:aa:bb::1')).not.toBe(clientBucketKey('2001:db8:aa:bc::1'));
  });

  it('one shared bucket for an unknown address; text that is not IPv6 is kept as is', () => {
    expect(clientBucketKey(undefined)).toBe('unknown');
    expect(clientBucketKey('')).toBe('unknown');
    expect(clientBucketKey('1:2:3')).toBe('1:2:3');
    expect(clientBucketKey('1::2::3')).toBe('1::2::3');
  });
});
