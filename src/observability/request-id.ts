/**
 * Request ids: a well-formed incoming `x-request-id` (from a load balancer
 * or the SPA) is kept so one id follows the request through every hop;
 * anything else is replaced by a fresh UUID, so a client cannot inject text
 * into logs or upstream headers.
 */

/** The header carrying the request id, in both directions and upstream. */
export const REQUEST_ID_HEADER = 'x-request-id';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The incoming id when it is 1–128 characters of `[A-Za-z0-9._:-]`, else a new random UUID. */
export function acceptRequestId(incoming: string | null | undefined): string {
  return incoming && WELL_FORMED.test(incoming) ? incoming : crypto.randomUUID();
}
