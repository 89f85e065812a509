/**
 * Fixed names of the local stack, shared by the dev IdP, the example API, the
 * stack and the test harness (kept apart so none of them imports another just
 * for a constant).
 */

/** The client id the dev IdP registers for the BFF (also the `aud` of its phantom tokens). */
export const DEV_CLIENT_ID = 'hono-bff-dev';
/** Scopes the dev stack requests: OIDC ones plus the example API's. */
export const DEV_SCOPES = 'openid profile email offline_access notes:read notes:write';
/** RFC 8707 resource indicator of the example API: tokens for it are RS256 JWTs with this `aud`. */
export const DEV_API_RESOURCE = 'https://api.hono-bff.test';

/**
 * What the example API receives through the BFF: `access`, the session's access token
 * (an RS256 `at+jwt` for {@link DEV_API_RESOURCE}); `phantom`, opaque access tokens
 * (no resource requested) that the BFF swaps for the IdP's signed introspection JWT.
 */
export type DevTokenMode = 'access' | 'phantom';
