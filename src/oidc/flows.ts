/**
 * The OIDC operations the BFF performs, as plain functions over an
 * {@link OidcProvider}: start a login, finish it, refresh, revoke, build the
 * end-session URL. No web framework here; errors are translated to
 * {@link BffError} by the callers through `translateIdpError`.
 */
import * as client from 'openid-client';
import type { BffConfig } from '../config.js';
import { BffError, translateIdpError } from '../errors.js';
import type { LoginTransaction } from '../session/transaction.js';
import type { OidcProvider } from './discovery.js';

/** Tokens from a token-endpoint response, normalised. */
export interface TokenResult {
  accessToken: string;
  /** Access token expiry (epoch seconds), when the IdP sent `expires_in`. */
  accessTokenExpiresAt: number | undefined;
  refreshToken: string | undefined;
  /** Refresh token expiry (epoch seconds), when the IdP sent `refresh_expires_in`. */
  refreshTokenExpiresAt: number | undefined;
  idToken: string | undefined;
  /** Validated ID token claims, when an ID token came with the response. */
  idTokenClaims: Record<string, unknown> | undefined;
  scope: string | undefined;
}

/**
 * Builds the authorization request of a new login: PKCE S256, fresh `state`
 * and `nonce` (256 bits each), the configured scopes and resource only.
 */
export async function startLogin(provider: OidcProvider, config: BffConfig, returnTo: string, nowSeconds: number): Promise<{ url: URL; tx: LoginTransaction }> {
  const verifier = client.randomPKCECodeVerifier();
  const tx: LoginTransaction = { state: client.randomState(), nonce: client.randomNonce(), verifier, returnTo, iat: nowSeconds };
  const parameters: Record<string, string> = {
    redirect_uri: config.redirectUri,
    scope: config.scopes,
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: tx.state,
    nonce: tx.nonce,
  };
  if (config.resource) parameters.resource = config.resource;
  return { url: client.buildAuthorizationUrl(provider.config, parameters), tx };
}

/**
 * Finishes a login: checks `state`, RFC 9207 `iss` (when advertised), the
 * PKCE verifier and the ID token (signature with the pinned algorithm,
 * `iss`, `aud`, `exp`, `nonce`), and exchanges the code.
 *
 * @param callbackUrl the registered redirect URI with the callback's query.
 * @throws {BffError} `login_failed` or `idp_unavailable`.
 */
export async function finishLogin(provider: OidcProvider, config: BffConfig, callbackUrl: URL, tx: LoginTransaction, nowSeconds: number): Promise<TokenResult> {
  try {
    const response = await client.authorizationCodeGrant(
      provider.config,
      callbackUrl,
      { pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true },
      config.resource ? { resource: config.resource } : undefined,
    );
    const result = toTokenResult(response, nowSeconds);
    if (!result.idTokenClaims) throw new BffError('login_failed', { logInfo: 'callback: no ID token in the token response' });
    return result;
  } catch (error) {
    throw translateIdpError(error, 'callback');
  }
}

/**
 * Refreshes the tokens. A refreshed ID token must keep the login's `iss`,
 * `sub` and `aud` (openid-client does not compare `sub`).
 *
 * @throws {BffError} `session_expired` (grant refused or identity changed) or `idp_unavailable`.
 */
export async function refreshTokens(provider: OidcProvider, config: BffConfig, refreshToken: string, expected: { iss: string; sub: string; aud: string }, nowSeconds: number): Promise<TokenResult> {
  let result: TokenResult;
  try {
    const response = await client.refreshTokenGrant(provider.config, refreshToken, config.resource ? { resource: config.resource } : undefined);
    result = toTokenResult(response, nowSeconds);
  } catch (error) {
    throw translateIdpError(error, 'refresh');
  }
  const claims = result.idTokenClaims;
  if (claims && (claims.iss !== expected.iss || claims.sub !== expected.sub || !audienceIncludes(claims.aud, expected.aud))) {
    throw new BffError('session_expired', { logInfo: 'refresh: the refreshed ID token names another issuer, subject or audience' });
  }
  return result;
}

/** Revokes a token (RFC 7009) when the IdP supports it. @throws {BffError} `idp_unavailable`. */
export async function revokeToken(provider: OidcProvider, token: string, hint: 'refresh_token' | 'access_token'): Promise<void> {
  if (!provider.supportsRevocation) return;
  try {
    await client.tokenRevocation(provider.config, token, { token_type_hint: hint });
  } catch (error) {
    throw translateIdpError(error, 'revocation');
  }
}

/**
 * Where the SPA sends the browser after logout: the IdP's end-session
 * endpoint (with `id_token_hint`, `client_id`, `post_logout_redirect_uri`),
 * or the post-logout URI itself when the IdP has none.
 */
export function endSessionUrl(provider: OidcProvider | undefined, config: BffConfig, idToken: string | undefined): string {
  if (!provider?.supportsEndSession) return config.postLogoutRedirectUri;
  const parameters: Record<string, string> = { client_id: config.clientId, post_logout_redirect_uri: config.postLogoutRedirectUri };
  if (idToken) parameters.id_token_hint = idToken;
  return client.buildEndSessionUrl(provider.config, parameters).href;
}

function toTokenResult(response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, nowSeconds: number): TokenResult {
  const refreshExpiresIn = (response as { refresh_expires_in?: unknown }).refresh_expires_in;
  const claims = response.claims();
  return {
    accessToken: response.access_token,
    accessTokenExpiresAt: typeof response.expires_in === 'number' ? nowSeconds + response.expires_in : undefined,
    refreshToken: response.refresh_token,
    refreshTokenExpiresAt: typeof refreshExpiresIn === 'number' && refreshExpiresIn > 0 ? nowSeconds + refreshExpiresIn : undefined,
    idToken: response.id_token,
    idTokenClaims: claims ? { ...claims } : undefined,
    scope: response.scope,
  };
}

function audienceIncludes(aud: unknown, clientId: string): boolean {
  return aud === clientId || (Array.isArray(aud) && aud.includes(clientId));
}
