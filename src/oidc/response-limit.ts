/**
 * A size cap on IdP responses: discovery, JWKS and token answers are small,
 * so a hostile or broken IdP sending megabytes must fail fast instead of
 * being buffered.
 */
import type { FetchLike } from '../fetch.js';

/** Largest IdP response body accepted. Real ones are a few KiB. */
export const MAX_IDP_RESPONSE_BYTES = 256 * 1024;

/**
 * A TypeError, like fetch's own network failures, so every layer treats an
 * oversized answer as the IdP being unusable (`idp_unavailable`).
 */
export class IdpResponseTooLargeError extends TypeError {
  constructor() {
    super('IdP response too large');
    this.name = 'IdpResponseTooLargeError';
  }
}

/** Wraps a fetch so that responses larger than `maxBytes` error while being read (or at once when Content-Length says so). */
export function limitResponseSize(fetchLike: FetchLike, maxBytes = MAX_IDP_RESPONSE_BYTES): FetchLike {
  return async (input, init) => {
    const response = await fetchLike(input, init);
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel();
      throw new IdpResponseTooLargeError();
    }
    if (!response.body) return response;
    let seen = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(new IdpResponseTooLargeError());
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
