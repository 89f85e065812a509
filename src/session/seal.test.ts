import { describe, it, expect, vi, afterEach } from 'vitest';
import { createSealer } from './seal.js';

const SECRET_A = 'secret-A-' + 'a'.repeat(40);
const SECRET_B = 'secret-B-' + 'b'.repeat(40);
const SECRET_C = 'secret-C-' + 'c'.repeat(40);

const PAYLOAD = { sub: 'user-1', n: 42, nested: { list: [1, 'two', null], ok: true } };

function flipChar(s: string, index: number): string {
  const c = s[index]!;
  const replacement = c === 'A' ? 'B' : 'A';
  return s.slice(0, index) + replacement + s.slice(index + 1);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createSealer: seal / unseal', () => {
  it('round-trips an object and tags it with its purpose', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 3600);
    expect(sealed.startsWith('Fe26.2*')).toBe(true);
    expect(sealed).not.toContain('user-1');
    expect(sealed).not.toContain(SECRET_A);
    expect(await sealer.unseal('session', sealed)).toEqual({ ...PAYLOAD, p: 'session' });
  });

  it('round-trips for the login purpose', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('login', { state: 's' }, 600);
    expect(await sealer.unseal('login', sealed)).toEqual({ state: 's', p: 'login' });
  });

  it('produces different seals for the same data (random salt / IV)', async () => {
    const sealer = createSealer([SECRET_A]);
    const [one, two] = await Promise.all([sealer.seal('session', PAYLOAD, 60), sealer.seal('session', PAYLOAD, 60)]);
    expect(one).not.toBe(two);
  });

  it('a payload cannot override the purpose tag', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('login', { p: 'session', x: 1 }, 60);
    expect(await sealer.unseal('session', sealed)).toBeUndefined();
    expect(await sealer.unseal('login', sealed)).toEqual({ p: 'login', x: 1 });
  });
});

describe('createSealer: purposes are separated', () => {
  it('a session seal does not unseal as login', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 3600);
    expect(await sealer.unseal('login', sealed)).toBeUndefined();
    expect(await sealer.unseal('session', sealed)).toBeDefined();
  });

  it('a login seal does not unseal as session', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('login', PAYLOAD, 600);
    expect(await sealer.unseal('session', sealed)).toBeUndefined();
    expect(await sealer.unseal('login', sealed)).toBeDefined();
  });

  it('separation holds across sealer instances with the same secret', async () => {
    const sealed = await createSealer([SECRET_A]).seal('login', PAYLOAD, 600);
    expect(await createSealer([SECRET_A]).unseal('session', sealed)).toBeUndefined();
    expect(await createSealer([SECRET_A]).unseal('login', sealed)).toEqual({ ...PAYLOAD, p: 'login' });
  });
});

describe('createSealer: tampering and garbage never unseal and never throw', () => {
  it('refuses a seal with a flipped character anywhere in the middle', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 3600);
    const positions = [Math.floor(sealed.length / 2), Math.floor(sealed.length / 3), sealed.length - 10, 'Fe26.2*'.length + 2];
    for (const index of positions) {
      const tampered = flipChar(sealed, index);
      expect(tampered).not.toBe(sealed);
      await expect(sealer.unseal('session', tampered)).resolves.toBeUndefined();
    }
  });

  it('refuses every truncation of a seal', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 3600);
    for (const length of [0, 1, 7, 8, 20, Math.floor(sealed.length / 2), sealed.length - 3, sealed.length - 1]) {
      await expect(sealer.unseal('session', sealed.slice(0, length))).resolves.toBeUndefined();
    }
  });

  it('refuses a seal with extra data inserted, the version removed, or a component swapped', async () => {
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 3600);
    const other = await sealer.seal('session', { sub: 'user-2' }, 3600);
    const [body, version] = sealed.split('~');
    expect(version).toBe('2');
    await expect(sealer.unseal('session', `${body}x~${version}`)).resolves.toBeUndefined();
    await expect(sealer.unseal('session', `${body}*x~${version}`)).resolves.toBeUndefined();
    await expect(sealer.unseal('session', `${body}`)).resolves.toBeUndefined();
    const parts = sealed.split('*');
    const otherParts = other.split('*');
    const mixed = [...parts.slice(0, 4), otherParts[4], ...parts.slice(5)].join('*');
    await expect(sealer.unseal('session', mixed)).resolves.toBeUndefined();
  });

  it.each([
    ['empty string', ''],
    ['random garbage', 'q9$#@!not-a-seal\u0000\uffff'],
    ['prefix with junk', 'Fe26.2*junk'],
    ['prefix with empty components', 'Fe26.2*********'],
    ['prefix with the right number of junk components', 'Fe26.2*1*a*b*c*d*e*f~2'],
    ['prefix with non-numeric expiry', 'Fe26.2*1*AAAA*AAAA*AAAA*notanumber*AAAA*AAAA~2'],
    ['prefix with a huge password id', 'Fe26.2*99999999999999999999*a*b*c**d*e~2'],
    ['wrong version suffix', 'Fe26.2*1*a*b*c**d*e~99'],
    ['other iron version', 'Fe26.1*1*a*b*c**d*e'],
    ['a 100 KB string', 'Fe26.2*' + 'A'.repeat(100 * 1024)],
    ['a 100 KB string without prefix', 'x'.repeat(100 * 1024)],
  ])('refuses %s', async (_label, input) => {
    const sealer = createSealer([SECRET_A]);
    await expect(sealer.unseal('session', input)).resolves.toBeUndefined();
    await expect(sealer.unseal('login', input)).resolves.toBeUndefined();
  });

  it('refuses a seal made with an unrelated secret', async () => {
    const sealed = await createSealer([SECRET_C]).seal('session', PAYLOAD, 3600);
    await expect(createSealer([SECRET_A]).unseal('session', sealed)).resolves.toBeUndefined();
  });
});

describe('createSealer: key rotation', () => {
  it('sealed with [A], unsealed by [B, A]: works', async () => {
    const sealed = await createSealer([SECRET_A]).seal('session', PAYLOAD, 3600);
    expect(await createSealer([SECRET_B, SECRET_A]).unseal('session', sealed)).toEqual({ ...PAYLOAD, p: 'session' });
  });

  it('sealed by [B, A], unsealed by [A] alone: refused (B seals)', async () => {
    const sealed = await createSealer([SECRET_B, SECRET_A]).seal('session', PAYLOAD, 3600);
    expect(await createSealer([SECRET_A]).unseal('session', sealed)).toBeUndefined();
  });

  it('sealed by [B, A], unsealed by [B] alone (A removed): works', async () => {
    const sealed = await createSealer([SECRET_B, SECRET_A]).seal('session', PAYLOAD, 3600);
    expect(await createSealer([SECRET_B]).unseal('session', sealed)).toEqual({ ...PAYLOAD, p: 'session' });
  });

  it('key ids depend on the secret, not its position', async () => {
    const sealed = await createSealer([SECRET_B]).seal('login', PAYLOAD, 600);
    expect(await createSealer([SECRET_C, SECRET_A, SECRET_B]).unseal('login', sealed)).toEqual({ ...PAYLOAD, p: 'login' });
    expect(await createSealer([SECRET_C, SECRET_A]).unseal('login', sealed)).toBeUndefined();
  });

  it('the key id is not the secret position (1)', async () => {
    const sealedByA = await createSealer([SECRET_A]).seal('session', PAYLOAD, 60);
    const sealedByB = await createSealer([SECRET_B]).seal('session', PAYLOAD, 60);
    const idOf = (s: string) => s.split('*')[1];
    expect(idOf(sealedByA)).not.toBe(idOf(sealedByB));
    expect(idOf(sealedByA)).toMatch(/^\d+$/);
    expect(idOf(sealedByA)).not.toBe('1');
    expect(idOf(await createSealer([SECRET_C, SECRET_A]).seal('session', PAYLOAD, 60))).not.toBe(idOf(sealedByA));
    expect(idOf(await createSealer([SECRET_A, SECRET_C]).seal('session', PAYLOAD, 60))).toBe(idOf(sealedByA));
  });
});

describe('createSealer: ttl', () => {
  it.each([0, -1, Number.NaN])('seal with ttl %s rejects with a RangeError', async (ttl) => {
    await expect(createSealer([SECRET_A]).seal('session', PAYLOAD, ttl)).rejects.toThrow(RangeError);
  });

  it('an expired seal no longer unseals', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = new Date('2030-01-01T00:00:00Z');
    vi.setSystemTime(start);
    const sealer = createSealer([SECRET_A]);
    const sealed = await sealer.seal('session', PAYLOAD, 600);
    vi.setSystemTime(new Date(start.getTime() + 599_000));
    expect(await sealer.unseal('session', sealed)).toEqual({ ...PAYLOAD, p: 'session' });
    vi.setSystemTime(new Date(start.getTime() + 3600_000));
    expect(await sealer.unseal('session', sealed)).toBeUndefined();
  });

  it('refuses to build a keyring without secrets', async () => {
    await expect(createSealer([]).seal('session', PAYLOAD, 60)).rejects.toThrow();
  });
});
