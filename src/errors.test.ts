import { describe, it, expect } from 'vitest';
import { errors as joseErrors } from 'jose';
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';
import { BffError, ERROR_CODES, IdpAnswerError, problemBody, problemResponse, safeToken, translateIdpError, type ErrorCode, type IdpOperation } from './errors.js';

const OPERATIONS: IdpOperation[] = ['discovery', 'callback', 'refresh', 'revocation', 'introspection'];

/** A real openid-client ResponseBodyError, as thrown for an OAuth error response. */
function responseBodyError(status: number, body: { error: string; error_description?: string }): ResponseBodyError {
  const response = new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  return new ResponseBodyError('server responded with an error in the response body', { cause: body, response });
}

/** An openid-client ClientError as its internal helper builds it (`new ClientError(msg, { cause, code })`). */
function clientError(message: string, code: string, cause?: unknown): ClientError {
  return new ClientError(message, { cause, code } as ErrorOptions);
}

describe('BffError', () => {
  it('derives status and title from the code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const error = new BffError(code);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('BffError');
      expect(error.code).toBe(code);
      expect(error.status).toBe(ERROR_CODES[code].status);
      expect(error.title).toBe(ERROR_CODES[code].title);
      expect(error.message).toBe(ERROR_CODES[code].title);
      expect(error.retryAfter).toBeUndefined();
    }
  });

  it('keeps cause, logInfo, retryAfter and message apart from the public title', () => {
    const cause = new Error('root');
    const error = new BffError('idp_unavailable', { cause, logInfo: 'discovery: x', retryAfter: 7, message: 'log side' });
    expect(error.cause).toBe(cause);
    expect(error.logInfo).toBe('discovery: x');
    expect(error.retryAfter).toBe(7);
    expect(error.message).toBe('log side');
    expect(error.title).toBe(ERROR_CODES.idp_unavailable.title);
  });
});

describe('problemResponse', () => {
  it('builds an RFC 9457 problem+json response', async () => {
    const res = problemResponse(new BffError('csrf_failed', { logInfo: 'secret-log-info', message: 'log-only message' }));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.has('retry-after')).toBe(false);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ type: 'about:blank', title: ERROR_CODES.csrf_failed.title, status: 403, code: 'csrf_failed' });
    expect(text).not.toContain('secret-log-info');
    expect(text).not.toContain('log-only message');
  });

  it('sends Retry-After when the error has one', () => {
    const res = problemResponse(new BffError('idp_unavailable', { retryAfter: 5 }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('keeps extra headers but never lets them override content-type or cache-control', () => {
    const res = problemResponse(new BffError('unauthenticated'), { 'content-type': 'text/html', 'cache-control': 'public, max-age=600', 'set-cookie': 'a=; Max-Age=0', 'x-extra': '1' });
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-extra')).toBe('1');
    expect(res.headers.getSetCookie()).toEqual(['a=; Max-Age=0']);
  });

  it('uses a custom title when given', () => {
    expect(problemBody(new BffError('invalid_request', { title: 'Bad returnTo' }))).toEqual({ type: 'about:blank', title: 'Bad returnTo', status: 400, code: 'invalid_request' });
  });
});

describe('translateIdpError', () => {
  it.each(OPERATIONS)('TypeError("fetch failed") during %s → idp_unavailable with Retry-After', (operation) => {
    const cause = new TypeError('fetch failed');
    const error = translateIdpError(cause, operation);
    expect(error).toBeInstanceOf(BffError);
    expect(error.code).toBe('idp_unavailable');
    expect(error.status).toBe(503);
    expect(error.retryAfter).toBe(5);
    expect(error.cause).toBe(cause);
    expect(error.logInfo).toContain(operation);
  });

  it.each(OPERATIONS)('a timeout / abort during %s → idp_unavailable', (operation) => {
    expect(translateIdpError(new DOMException('timed out', 'TimeoutError'), operation).code).toBe('idp_unavailable');
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(translateIdpError(abort, operation).code).toBe('idp_unavailable');
    expect(translateIdpError(clientError('timeout', 'OAUTH_TIMEOUT'), operation).code).toBe('idp_unavailable');
  });

  it('invalid_grant during refresh → session_expired, without the description in logInfo', () => {
    const cause = responseBodyError(400, { error: 'invalid_grant', error_description: 'refresh token REVOKED-RT-VALUE is revoked' });
    expect(cause).toBeInstanceOf(ResponseBodyError);
    expect(cause.status).toBe(400);
    const error = translateIdpError(cause, 'refresh');
    expect(error.code).toBe('session_expired');
    expect(error.status).toBe(401);
    expect(error.retryAfter).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(error.logInfo).toContain('invalid_grant');
    expect(error.logInfo).toContain('400');
    expect(error.logInfo).not.toContain('REVOKED-RT-VALUE');
  });

  it('invalid_grant during callback → login_failed', () => {
    expect(translateIdpError(responseBodyError(400, { error: 'invalid_grant' }), 'callback').code).toBe('login_failed');
  });

  it.each([500, 502, 503, 504])('an OAuth error body with HTTP %s → idp_unavailable for every operation', (status) => {
    for (const operation of OPERATIONS) {
      const error = translateIdpError(responseBodyError(status, { error: 'server_error' }), operation);
      expect(error.code).toBe('idp_unavailable');
      expect(error.retryAfter).toBe(5);
    }
  });

  it('an unknown Error during callback → login_failed', () => {
    const error = translateIdpError(new Error('id token signature check failed'), 'callback');
    expect(error.code).toBe('login_failed');
    expect(error.status).toBe(400);
    expect(error.retryAfter).toBeUndefined();
  });

  it('an unknown Error during refresh → session_expired; during discovery → idp_unavailable', () => {
    expect(translateIdpError(new Error('x'), 'refresh').code).toBe('session_expired');
    expect(translateIdpError(new Error('x'), 'discovery').code).toBe('idp_unavailable');
    expect(translateIdpError(new Error('x'), 'revocation').code).toBe('idp_unavailable');
  });

  it('a non-Error value during callback → login_failed', () => {
    expect(translateIdpError('boom', 'callback').code).toBe('login_failed');
    expect(translateIdpError(undefined, 'callback').code).toBe('login_failed');
  });

  it('an authorization response error during callback → login_failed, code sanitised', () => {
    const params = new URLSearchParams({ error: 'access_denied\r\nFAKE LOG LINE', state: 's' });
    const cause = new AuthorizationResponseError('authorization response from the server is an error', { cause: params });
    const error = translateIdpError(cause, 'callback');
    expect(error.code).toBe('login_failed');
    expect(error.logInfo).toContain('access_deniedFAKELOGLINE');
    expect(error.logInfo).not.toMatch(/[\r\n]/);
  });

  it('a non-JSON 5xx / 429 response → idp_unavailable, a non-JSON 4xx during callback → login_failed', () => {
    const notJson = (status: number) => clientError('not json', 'OAUTH_RESPONSE_IS_NOT_JSON', new Response('<html>', { status }));
    expect(translateIdpError(notJson(502), 'callback').code).toBe('idp_unavailable');
    expect(translateIdpError(notJson(429), 'refresh').code).toBe('idp_unavailable');
    expect(translateIdpError(notJson(400), 'callback').code).toBe('login_failed');
  });

  it('introspection fails closed: an answer that cannot be used or verified → idp_unavailable, logged by code only', () => {
    const status = (n: number) => translateIdpError(new IdpAnswerError(n, 'invalid_client'), 'introspection');
    expect(status(401)).toMatchObject({ code: 'idp_unavailable', retryAfter: 5, logInfo: 'introspection: IdP answered 401 invalid_client' });
    expect(status(503).code).toBe('idp_unavailable');
    const forged = translateIdpError(new joseErrors.JWSSignatureVerificationFailed(), 'introspection');
    expect(forged).toMatchObject({ code: 'idp_unavailable', logInfo: 'introspection: ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const claim = new joseErrors.JWTClaimValidationFailed('unexpected "aud" claim value', { aud: 'SECRET-CLAIM-VALUE' }, 'aud', 'check_failed');
    expect(translateIdpError(claim, 'introspection').logInfo).toBe('introspection: ERR_JWT_CLAIM_VALIDATION_FAILED (aud check_failed)');
    expect(translateIdpError(new joseErrors.JWKSTimeout(), 'introspection').logInfo).toContain('did not arrive in time');
  });

  it('passes a BffError through unchanged', () => {
    const original = new BffError('invalid_request');
    expect(translateIdpError(original, 'callback')).toBe(original);
  });
});

describe('safeToken', () => {
  it.each<[unknown, string]>([
    ['invalid_grant', 'invalid_grant'],
    ['server.error-1', 'server.error-1'],
    ['a b\tc\nd\re', 'abcde'],
    ['<script>alert(1)</script>', 'scriptalert1script'],
    ['ünïcödé', 'ncd'],
    ['"quoted";x=1', 'quotedx1'],
    ['', ''],
    [undefined, ''],
    [null, ''],
    [42, ''],
    [{ toString: () => 'x' }, ''],
  ])('%j → %j', (input, expected) => {
    expect(safeToken(input)).toBe(expected);
  });

  it('truncates to max characters', () => {
    expect(safeToken('a'.repeat(100))).toBe('a'.repeat(64));
    expect(safeToken('abcdef', 3)).toBe('abc');
    expect(safeToken('a b c d', 3)).toBe('abc');
  });

  it('only ever yields [\\w.-] characters', () => {
    let all = '';
    for (let i = 0; i < 0x3000; i++) all += String.fromCharCode(i);
    expect(safeToken(all, 100_000)).toMatch(/^[\w.-]*$/);
  });
});
