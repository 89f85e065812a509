/**
 * The example API as seen from the SPA, and how errors are described to the user.
 *
 * Every call goes through `client.fetch`, which adds `x-csrf: 1` and the cookie
 * credentials and throws a `BffError` for problem+json answers. The BFF turns the
 * session cookie into `Authorization: Bearer …`: no token ever appears here.
 */
import { BffError, type BffClient } from 'hono-bff/client';

/** A note of the example API (`GET/POST /api/notes`). */
export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

/** A failed answer that was not problem+json (those arrive as `BffError`). */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number) {
    super(`HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

async function readJson<T>(response: Response): Promise<T> {
  if (!response.ok) throw new HttpError(response.status);
  return (await response.json()) as T;
}

/** `GET /api/me`: what the API saw (sub, scope, aud, exp, forwarded headers, …). */
export async function getMe(client: BffClient): Promise<unknown> {
  return readJson(await client.fetch('/api/me'));
}

/** `GET /api/notes`: the signed-in user's notes, oldest first. */
export async function listNotes(client: BffClient): Promise<Note[]> {
  const body = await readJson<{ notes: Note[] }>(await client.fetch('/api/notes'));
  return body.notes;
}

/** `POST /api/notes` with `{ text }`. */
export async function addNote(client: BffClient, text: string): Promise<Note> {
  return readJson(
    await client.fetch('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    }),
  );
}

/** What the error banner shows: `code — title`. */
export interface Problem {
  code: string;
  title: string;
}

/** Titles of the codes the BFF can put in `?bff_error=<code>` after a failed login. */
const LOGIN_ERROR_TITLES: Record<string, string> = {
  login_failed: 'Login failed',
  idp_unavailable: 'The identity provider is unavailable',
  invalid_request: 'Invalid request',
  internal_error: 'Internal error',
};

/**
 * The problem named by `?bff_error=<code>`. The value comes from the URL, so
 * anything that does not look like a code is shown as `unknown_error`.
 */
export function problemFromCode(raw: string): Problem {
  const code = /^[a-z][a-z0-9_]{0,63}$/.test(raw) ? raw : 'unknown_error';
  return { code, title: LOGIN_ERROR_TITLES[code] ?? 'Something went wrong' };
}

/**
 * Any thrown value as a banner message. The client reports network failures
 * as `BffError` too (`network_error`), so anything else is unexpected.
 */
export function describeError(error: unknown): Problem {
  if (error instanceof BffError) {
    const retry = error.retryAfter ? ` (try again in ${error.retryAfter}s)` : '';
    return { code: error.code, title: `${error.title}${retry}` };
  }
  if (error instanceof HttpError) return { code: 'http_error', title: `The API answered HTTP ${error.status}` };
  return { code: 'unexpected_error', title: 'Something went wrong' };
}
