/**
 * A hostile IdP returns ID tokens with wrong, missing or borderline claims
 * from its token endpoint. The BFF must refuse every one of them (302 to
 * `/?bff_error=login_failed`, no session, nothing proxied) after exactly one
 * token request, and accept ID tokens that are merely skewed within
 * openid-client's 30 s clock tolerance.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBrowser } from '../../support/browser.js';
import { CSRF } from '../../support/harness.js';
import {
  attemptLogin,
  expectLoginRefused,
  expectLoginSucceeded,
  expectNoSecretsInLogs,
  OMIT,
  sessionCookieNames,
  sessionView,
  startBffAgainst,
  startHostileIdp,
  type BffUnderTest,
  type HostileIdp,
} from '../../support/hostile-idp.js';

let idp: HostileIdp;
let bff: BffUnderTest;

beforeAll(async () => {
  idp = await startHostileIdp();
  bff = await startBffAgainst(idp);
});
afterAll(async () => {
  await bff?.close();
  await idp?.close();
});
beforeEach(() => {
  idp.reset();
  bff.upstream.hits = 0;
  bff.upstream.authorizations.length = 0;
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * One login through the hostile IdP with the current script: refused as
 * login_failed after one token request, for the expected reason (the
 * openid-client error code in the BFF's log line, so a case cannot pass
 * because of an unrelated failure).
 */
async function expectRefused(reason: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' | 'OAUTH_INVALID_RESPONSE' | 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED'): Promise<void> {
  const browser = new TestBrowser();
  const attempt = await attemptLogin(browser, bff, idp);
  await expectLoginRefused(attempt, 'login_failed', { browser, bff, idp });
  expect(idp.hits['/token']).toBe(1);
  expect(idp.refusals).toEqual([]);
  expect(lastLoginFailure()).toContain(reason);
}

/** The reason of the BFF's last `login.failed` log line. */
function lastLoginFailure(): string {
  const line = bff.logs.filter((l) => l.includes('"login.failed"')).at(-1);
  return line ? String((JSON.parse(line) as { reason?: unknown }).reason) : '';
}

/** One login through the hostile IdP with the current script; accepted after one token request. */
async function expectAccepted(): Promise<void> {
  const browser = new TestBrowser();
  const attempt = await attemptLogin(browser, bff, idp);
  await expectLoginSucceeded(attempt, { browser, bff, idp });
  expect(idp.hits['/token']).toBe(1);
}

describe('hostile IdP: ID token claims', () => {
  it('baseline: a correct ID token logs in', async () => {
    await expectAccepted();
  });

  describe('issuer', () => {
    it('an ID token from another issuer (wrong iss) is refused', async () => {
      idp.script.idToken.iss = 'https://evil.example';
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token whose iss differs only by a trailing slash is refused', async () => {
      idp.script.idToken.iss = `${idp.issuer}/`;
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });
  });

  describe('audience', () => {
    it('an ID token for another client (wrong aud) is refused', async () => {
      idp.script.idToken.aud = 'another-client';
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token whose aud array does not name the client is refused', async () => {
      idp.script.idToken.aud = ['another-client', 'yet-another'];
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token without aud is refused', async () => {
      idp.script.idToken.aud = OMIT;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });

    it('an ID token with an extra untrusted audience and no azp is refused', async () => {
      // oauth4webapi: an array aud with more than one entry requires azp (OIDC Core 3.1.3.7 rules 3-5).
      idp.script.idToken.extraAudience = 'https://evil.example/client';
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token with an extra audience and azp naming another party is refused', async () => {
      idp.script.idToken.extraAudience = 'https://evil.example/client';
      idp.script.idToken.azp = 'https://evil.example/client';
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token with an extra audience and azp naming the client is accepted (issued to the BFF)', async () => {
      // What openid-client enforces: with several audiences, azp must equal client_id; then the
      // extra audiences are tolerated. The token was issued to (authorized for) the BFF.
      idp.script.idToken.extraAudience = 'https://other-rp.example';
      idp.script.idToken.azp = idp.clientId;
      await expectAccepted();
    });
  });

  describe('subject', () => {
    it('an ID token without sub is refused', async () => {
      idp.script.idToken.sub = OMIT;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });

    it('an ID token whose sub is not a string is refused', async () => {
      idp.script.idToken.sub = 1234;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });
  });

  describe('time', () => {
    it('an ID token without iat is refused', async () => {
      idp.script.idToken.iat = OMIT;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });

    it('an expired ID token (exp 60 s ago, beyond the 30 s tolerance) is refused', async () => {
      idp.script.idToken.exp = nowSeconds() - 60;
      await expectRefused('OAUTH_JWT_TIMESTAMP_CHECK_FAILED');
    });

    it('an ID token without exp is refused', async () => {
      idp.script.idToken.exp = OMIT;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });

    it('an ID token with exp 20 s ago (within the 30 s tolerance) is accepted', async () => {
      idp.script.idToken.exp = nowSeconds() - 20;
      await expectAccepted();
    });

    it('an IdP clock 25 s ahead (iat and exp +25 s) is accepted', async () => {
      idp.script.idToken.skewSeconds = 25;
      await expectAccepted();
    });

    it('an IdP clock 25 s behind (iat and exp −25 s) is accepted', async () => {
      idp.script.idToken.skewSeconds = -25;
      await expectAccepted();
    });
  });

  describe('on refresh (POST /bff/refresh)', () => {
    /** Logs in correctly, then refreshes with the current script applied to the refreshed ID token. */
    async function refreshWith(change: () => void): Promise<{ browser: TestBrowser; res: Response }> {
      const browser = new TestBrowser();
      await expectLoginSucceeded(await attemptLogin(browser, bff, idp), { browser, bff, idp });
      change();
      const res = await browser.fetch(`${bff.url}/bff/refresh`, { method: 'POST', headers: CSRF });
      return { browser, res };
    }

    /** The refresh is refused as session_expired and the session is gone. */
    async function expectSessionEnded({ browser, res }: { browser: TestBrowser; res: Response }): Promise<void> {
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code?: string }).code).toBe('session_expired');
      expect(idp.hits['/token']).toBe(2);
      expect(await sessionCookieNames(browser, bff)).toEqual([]);
      expect(await sessionView(browser, bff)).toEqual({ authenticated: false });
      expectNoSecretsInLogs(idp, bff);
    }

    it('a refreshed ID token naming another subject ends the session', async () => {
      await expectSessionEnded(await refreshWith(() => (idp.script.idToken.sub = 'someone-else')));
    });

    it('a refreshed ID token from another issuer ends the session', async () => {
      await expectSessionEnded(await refreshWith(() => (idp.script.idToken.iss = 'https://evil.example')));
    });

    it('a refreshed ID token for another audience ends the session', async () => {
      await expectSessionEnded(await refreshWith(() => (idp.script.idToken.aud = 'another-client')));
    });
  });

  describe('nonce', () => {
    it('an ID token with another nonce (replayed from another login) is refused', async () => {
      idp.script.idToken.nonce = 'x'.repeat(43);
      await expectRefused('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
    });

    it('an ID token without nonce is refused', async () => {
      idp.script.idToken.nonce = OMIT;
      await expectRefused('OAUTH_INVALID_RESPONSE');
    });
  });
});
