/**
 * The Worker as the integration suite runs it in workerd: `src/worker.ts`'s
 * `buildWorkerApp` with a controllable clock, a switchable IdP connection
 * and a recording logger, driven over `/__hono-bff-test/*` (the same knobs
 * the Node target injects in-process). Test-only: never deployed.
 */
import { createJsonLineLogger } from '../../src/log.js';
import { buildWorkerApp, type WorkerEnv } from '../../src/worker.js';

let offsetMs = 0;
let idpDown = false;
const lines: string[] = [];
let built: ReturnType<typeof buildWorkerApp> | undefined;

const CONTROL = '/__hono-bff-test/';

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: unknown): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith(CONTROL)) {
      switch (url.pathname.slice(CONTROL.length)) {
        case 'clock':
          offsetMs += Number(url.searchParams.get('advance') ?? '0') * 1000;
          return Response.json({ offsetMs });
        case 'idp':
          idpDown = url.searchParams.get('down') === '1';
          return Response.json({ idpDown });
        case 'logs':
          return Response.json(lines);
        default:
          return new Response('unknown control', { status: 404 });
      }
    }
    const now = () => Date.now() + offsetMs;
    built ??= buildWorkerApp(env, {
      now,
      idpFetch: (input, init) => (idpDown ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init)),
      logger: createJsonLineLogger((line) => lines.push(line), 'debug', now),
    });
    if ('error' in built) return new Response('config error', { status: 500 });
    return built.app.fetch(request, env, ctx as never);
  },
};
