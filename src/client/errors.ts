/**
 * The browser's view of a BFF failure: one error class built from the BFF's
 * RFC 9457 problem+json answers, plus the two failures that never reach the
 * BFF's error handling (the network, and answers that are not the BFF's).
 */

/**
 * A failed BFF call. `code` is the BFF's stable problem code (see the README's
 * error table), so apps branch on `code`, never on `title` or `status`.
 *
 * Codes produced on the client side: `network_error` (fetch rejected, `status`
 * 0), `invalid_response` (an answer that is not the JSON the BFF promises, e.g.
 * an HTML error page from a proxy in front of it), and `http_<status>` for a
 * problem+json body without a `code`.
 *
 * @example
 * ```ts
 * try {
 *   await bffFetch('/api/notes');
 * } catch (error) {
 *   if (error instanceof BffError && error.code === 'idp_unavailable') retryIn(error.retryAfter ?? 5);
 * }
 * ```
 */
export class BffError extends Error {
  /** Stable machine-readable code, e.g. `unauthenticated`, `session_expired`, `csrf_failed`, `network_error`. */
  readonly code: string;
  /** HTTP status of the answer; `0` for `network_error`. */
  readonly status: number;
  /** Short human title from the problem body (not meant for branching). */
  readonly title: string;
  /** Seconds to wait before retrying, from a numeric `Retry-After` header. */
  readonly retryAfter?: number;

  /**
   * @param code - the stable code
   * @param status - HTTP status, `0` when there was no answer
   * @param title - human title; also the `message`
   * @param retryAfter - seconds from `Retry-After`, if numeric
   * @param cause - the underlying error (kept for debugging, e.g. fetch's TypeError)
   * @example
   * ```ts
   * new BffError('unauthenticated', 401, 'Not logged in');
   * ```
   */
  constructor(code: string, status: number, title: string, retryAfter?: number, cause?: unknown) {
    super(title, cause === undefined ? undefined : { cause });
    this.name = 'BffError';
    this.code = code;
    this.status = status;
    this.title = title;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/**
 * Turns an `application/problem+json` answer into a {@link BffError}; any
 * other answer yields `undefined` (it is the caller's to read).
 *
 * @example
 * ```ts
 * const problem = await readProblem(response);
 * if (problem) throw problem;
 * ```
 */
export async function readProblem(response: Response): Promise<BffError | undefined> {
  const type = response.headers.get('content-type');
  if (!type?.toLowerCase().startsWith('application/problem+json')) return undefined;
  // Only the delta-seconds form: an HTTP-date would need the server's clock, which the page does not know.
  const retry = response.headers.get('retry-after')?.trim();
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : undefined;
  let body: unknown;
  try {
    body = await response.json();
  } catch (cause) {
    return invalidResponse(response.status, cause, retryAfter);
  }
  if (!isRecord(body)) return invalidResponse(response.status, undefined, retryAfter);
  const code = typeof body.code === 'string' ? body.code : `http_${response.status}`;
  return new BffError(code, response.status, typeof body.title === 'string' ? body.title : code, retryAfter);
}

/**
 * The error for an answer that is not what the BFF promises.
 *
 * @example
 * ```ts
 * throw invalidResponse(response.status);
 * ```
 */
export function invalidResponse(status: number, cause?: unknown, retryAfter?: number): BffError {
  return new BffError('invalid_response', status, 'Unexpected response from the BFF', retryAfter, cause);
}

/**
 * Narrows `unknown` (parsed JSON, channel messages) to a plain object.
 *
 * @example
 * ```ts
 * if (isRecord(body) && typeof body.code === 'string') …
 * ```
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
