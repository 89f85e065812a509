import { describe, expect, expectTypeOf, it } from 'vitest';
import type { SessionView } from '../session/session.js';
import { toSession, type BffSession } from './session.js';

describe('toSession', () => {
  it('accepts both shapes of GET /bff/session and keeps every user claim', () => {
    const view = { authenticated: true, user: { sub: 'alice', name: 'Alice', email: 'alice@example.com', locale: 'fr' }, accessTokenExpiresAt: 1_900_000_300, sessionExpiresAt: 1_900_003_600 };
    expect(toSession(view)).toEqual(view);
    expect(toSession({ authenticated: false })).toEqual({ authenticated: false });
  });

  it('drops unknown top-level members, so messages between tabs stay the public view', () => {
    expect(toSession({ authenticated: false, extra: 'x' })).toEqual({ authenticated: false });
    expect(toSession({ authenticated: true, user: { sub: 'a' }, accessTokenExpiresAt: 1, sessionExpiresAt: 2, accessToken: 'nope' })).toEqual({ authenticated: true, user: { sub: 'a' }, accessTokenExpiresAt: 1, sessionExpiresAt: 2 });
  });

  it.each([
    ['null', null],
    ['a string', 'authenticated'],
    ['no flag', { user: { sub: 'a' } }],
    ['a truthy flag', { authenticated: 'yes', user: { sub: 'a' }, accessTokenExpiresAt: 1, sessionExpiresAt: 2 }],
    ['no user', { authenticated: true, accessTokenExpiresAt: 1, sessionExpiresAt: 2 }],
    ['no sub', { authenticated: true, user: { name: 'A' }, accessTokenExpiresAt: 1, sessionExpiresAt: 2 }],
    ['string times', { authenticated: true, user: { sub: 'a' }, accessTokenExpiresAt: '1', sessionExpiresAt: 2 }],
  ])('refuses %s', (_label, value) => {
    expect(toSession(value)).toBeUndefined();
  });

  it("matches the server's SessionView (checked by tsc)", () => {
    // If the server's view gains or renames a member, this stops compiling.
    expectTypeOf<keyof Extract<BffSession, { authenticated: true }>>().toEqualTypeOf<keyof Extract<SessionView, { authenticated: true }>>();
    expectTypeOf<BffSession>().toExtend<SessionView>();
  });
});
