/**
 * The fetch-like function type through which every outbound call goes, so an
 * adapter can supply a faster or instrumented client and tests can count calls.
 */

/** A `fetch`-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
