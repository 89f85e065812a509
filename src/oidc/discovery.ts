/**
 * OIDC discovery, fetched once per process (or Workers isolate) and cached.
 *
 * The server starts without the IdP: discovery runs on first use. A failure
 * is not cached for long, so the BFF recovers by itself when the IdP returns,
 * but concurrent requests during an outage share one attempt and fail fast.
 */
import * as client from 'openid-client';
import type { BffConfig } from '../config.js';
import { BffError, translateIdpError } from '../errors.js';
import type { FetchLike } from '../fetch.js';

/** The IdP as the BFF uses it. */
export interface OidcProvider {
  /** openid-client configuration: endpoints, client auth, pinned ID token algorithm, timeouts. */
  readonly config: client.Configuration;
  /** Whether the IdP supports RFC 7009 revocation. */
  readonly supportsRevocation: boolean;
  /** Whether the IdP supports RP-initiated logout. */
  readonly supportsEndSession: boolean;
  /** Whether the IdP has an RFC 7662 introspection endpoint (phantom routes need one). */
  readonly supportsIntrospection: boolean;
  /**
   * The pinned algorithm of RFC 9701 signed introspection responses (also set as the client's
   * `introspection_signed_response_alg`), or undefined when the IdP advertises no asymmetric
   * `introspection_signing_alg_values_supported`: phantom routes then fall back to JSON introspection.
   */
  readonly jwtIntrospectionAlg: string | undefined;
  /** The client authentication openid-client uses, for calls the BFF makes itself (introspection). */
  readonly clientAuth: client.ClientAuth;
}

/** Status of the discovery cache, for readiness probes and logs. */
export interface DiscoveryStatus {
  ready: boolean;
  /** Public code of the last failure, if the last attempt failed. */
  lastErrorCode?: string;
}

/** A lazily discovered, cached {@link OidcProvider}. */
export interface Discovery {
  /** The provider; discovers on first call. @throws {BffError} `idp_unavailable` while the IdP cannot be discovered. */
  get(): Promise<OidcProvider>;
  status(): DiscoveryStatus;
}

/** After a failed discovery, callers within this window get the same failure instead of a new attempt. */
const FAILURE_HOLD_MS = 1000;

/**
 * Creates the discovery cache for one configuration.
 *
 * @param now injectable clock (ms), for tests.
 * @param onDiscovered called once, when the provider is first discovered (a failing hook never fails discovery).
 */
export function createDiscovery(config: BffConfig, idpFetch: FetchLike, now: () => number = Date.now, onDiscovered?: (provider: OidcProvider) => void): Discovery {
  let pending: Promise<OidcProvider> | undefined;
  let resolved: OidcProvider | undefined;
  let failedAt = -Infinity;
  let lastError: BffError | undefined;

  const attempt = async (): Promise<OidcProvider> => {
    try {
      const provider = await discover(config, idpFetch);
      resolved = provider;
      lastError = undefined;
      try {
        onDiscovered?.(provider);
      } catch {
        // Observers (logging) must not turn a working IdP into an outage.
      }
      return provider;
    } catch (error) {
      failedAt = now();
      lastError = translateIdpError(error, 'discovery');
      pending = undefined;
      throw lastError;
    }
  };

  return {
    get() {
      if (resolved) return Promise.resolve(resolved);
      if (!pending && lastError && now() - failedAt < FAILURE_HOLD_MS) return Promise.reject(lastError);
      pending ??= attempt();
      return pending;
    },
    status() {
      return resolved ? { ready: true } : { ready: false, ...(lastError ? { lastErrorCode: lastError.code } : {}) };
    },
  };
}

async function discover(config: BffConfig, fetchLike: FetchLike): Promise<OidcProvider> {
  // openid-client's body type is a superset-compatible BodyInit; the cast only bridges the declarations.
  const idpFetch = ((url: string, options: RequestInit) => fetchLike(url, options)) as unknown as client.CustomFetch;
  const execute = config.issuerIsLoopback ? [client.allowInsecureRequests] : [];
  const discovered = await client.discovery(new URL(config.issuer), config.clientId, undefined, undefined, {
    execute,
    timeout: config.idpTimeoutMs / 1000,
    [client.customFetch]: idpFetch,
  });
  const metadata = discovered.serverMetadata();
  const supportsIntrospection = typeof metadata.introspection_endpoint === 'string';
  // Signed responses are verified against the JWKS: without one, only JSON introspection is usable.
  const jwtIntrospectionAlg = supportsIntrospection && typeof metadata.jwks_uri === 'string' ? chooseIntrospectionAlg(metadata.introspection_signing_alg_values_supported) : undefined;
  const clientAuth = chooseClientAuth(config, metadata.token_endpoint_auth_methods_supported);
  const oidcConfig = new client.Configuration(
    metadata,
    config.clientId,
    {
      client_secret: config.clientSecret,
      id_token_signed_response_alg: chooseIdTokenAlg(config, metadata.id_token_signing_alg_values_supported),
      // RFC 9701: introspection answers as a JWT signed with this algorithm (phantom routes).
      ...(jwtIntrospectionAlg ? { introspection_signed_response_alg: jwtIntrospectionAlg } : {}),
    },
    clientAuth,
  );
  if (config.issuerIsLoopback) client.allowInsecureRequests(oidcConfig);
  oidcConfig.timeout = config.idpTimeoutMs / 1000;
  oidcConfig[client.customFetch] = idpFetch;
  // Verify the signature of ID tokens from the token endpoint too (not only their claims).
  client.enableNonRepudiationChecks(oidcConfig);
  return {
    config: oidcConfig,
    supportsRevocation: typeof metadata.revocation_endpoint === 'string',
    supportsEndSession: typeof metadata.end_session_endpoint === 'string',
    supportsIntrospection,
    jwtIntrospectionAlg,
    clientAuth,
  };
}

/** `client_secret_basic` preferred, then `client_secret_post`; RFC 8414 defaults to basic when not advertised. */
function chooseClientAuth(config: BffConfig, supported: string[] | undefined): client.ClientAuth {
  const methods = supported ?? ['client_secret_basic'];
  if (methods.includes('client_secret_basic')) return client.ClientSecretBasic(config.clientSecret);
  if (methods.includes('client_secret_post')) return client.ClientSecretPost(config.clientSecret);
  throw new BffError('idp_unavailable', { logInfo: 'discovery: the IdP supports neither client_secret_basic nor client_secret_post' });
}

const ASYMMETRIC_ALG = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;

/**
 * RS256 when advertised for RFC 9701 introspection responses, else the first advertised
 * asymmetric one; undefined when none is advertised (JSON introspection only).
 */
export function chooseIntrospectionAlg(supported: string[] | undefined): string | undefined {
  if (!Array.isArray(supported)) return undefined;
  if (supported.includes('RS256')) return 'RS256';
  return supported.find((alg) => ASYMMETRIC_ALG.test(alg));
}

/** The configured algorithm, else RS256 when advertised (or nothing is advertised), else the first advertised asymmetric one. */
function chooseIdTokenAlg(config: BffConfig, supported: string[] | undefined): string {
  if (config.idTokenSigningAlg) return config.idTokenSigningAlg;
  if (!supported || supported.includes('RS256')) return 'RS256';
  const asymmetric = supported.find((alg) => /^(RS|PS|ES)\d{3}$|^EdDSA$|^Ed25519$/.test(alg));
  if (!asymmetric) throw new BffError('idp_unavailable', { logInfo: 'discovery: the IdP advertises no asymmetric ID token algorithm' });
  return asymmetric;
}
