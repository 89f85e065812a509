/**
 * The integration suite's target: the same BFF on Node (in-process) or in
 * workerd (Miniflare, from the bundled Worker), chosen by BFF_TARGET. Tests
 * talk to both through the same interface: URLs, the dev IdP and example
 * API, and async knobs for the clock, the IdP connection and the logs.
 */
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { Miniflare } from 'miniflare';
import type { ExampleApi } from '../../dev/api.js';
import type { DevIdp, DevIdpOptions } from '../../dev/idp.js';
import { startDevIdpAndApi, startDevStack, type DevRouteSpec, type DevTokenMode } from '../../dev/stack.js';
import { createJsonLineLogger } from '../../src/log.js';

/**
 * Variables every test target gets unless a test overrides them: all tests
 * log in from 127.0.0.1, so the login rate limit is raised out of the way
 * (test/integration/ratelimit.test.ts sets its own).
 */
export const TEST_TARGET_ENV: Readonly<Record<string, string>> = { BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '100000' };

/** Which runtime the BFF runs on. */
export type TargetKind = 'node' | 'workerd';

/** The runtime of this test run (vitest project env). */
export const TARGET: TargetKind = process.env.BFF_TARGET === 'workerd' ? 'workerd' : 'node';

/** The bundled test Worker (built by the workerd project's global setup). */
export const WORKER_BUNDLE = fileURLToPath(new URL('../../.wrangler/test-worker/worker-test-entry.js', import.meta.url));

/** Options of {@link startTarget}. */
export interface TargetOptions {
  /** Extra or overriding BFF environment variables. */
  env?: Record<string, string | undefined>;
  /** BFF_ROUTES as a function of the example API's URL. */
  apiRoutes?: (apiUrl: string) => Record<string, DevRouteSpec>;
  /** `phantom`: opaque access tokens (no BFF_RESOURCE) and `/api` as a `token: "phantom"` route. @default "access" */
  tokenMode?: DevTokenMode;
  /** Dev IdP knobs. */
  idp?: Pick<DevIdpOptions, 'accessTokenTtlSeconds' | 'rotateRefreshTokens' | 'refreshTokenTtlSeconds' | 'accessTokenPaddingBytes' | 'jwtIntrospection'>;
}

/** A running BFF with its IdP and API. */
export interface Target {
  kind: TargetKind;
  /** Public URL of the BFF (what browsers use). */
  bffUrl: string;
  /** Port the BFF listens on, on 127.0.0.1. */
  bffPort: number;
  idp: DevIdp;
  api: ExampleApi;
  /** The BFF's configuration variables (dev secrets: never print them). */
  env: Record<string, string | undefined>;
  /** Moves the BFF's clock forward (or back) by `seconds`. */
  advanceClock(seconds: number): Promise<void>;
  /** The BFF's clock, in epoch seconds (real time plus every advance so far). */
  nowSeconds(): number;
  /** Makes every call from the BFF to the IdP fail as if the IdP were unreachable. */
  setIdpDown(down: boolean): Promise<void>;
  /** Every log line the BFF wrote, as JSON text. */
  logLines(): Promise<string[]>;
  close(): Promise<void>;
}

/** Adds `nowSeconds`, mirroring every `advanceClock` so tests read the BFF's time without tracking offsets. */
function withClockMirror(target: Omit<Target, 'nowSeconds'>): Target {
  let offset = 0;
  return {
    ...target,
    advanceClock: async (seconds) => {
      await target.advanceClock(seconds);
      offset += seconds;
    },
    nowSeconds: () => Math.floor(Date.now() / 1000) + offset,
  };
}

/** Starts the BFF on this run's target. */
export function startTarget(options: TargetOptions = {}): Promise<Target> {
  return TARGET === 'workerd' ? startWorkerTarget(options) : startNodeTarget(options);
}

async function startNodeTarget(options: TargetOptions): Promise<Target> {
  let offsetMs = 0;
  let idpDown = false;
  const lines: string[] = [];
  const now = () => Date.now() + offsetMs;
  const stack = await startDevStack({
    ...options,
    env: { ...TEST_TARGET_ENV, ...options.env },
    deps: {
      now,
      idpFetch: (input, init) => (idpDown ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init)),
      logger: createJsonLineLogger((line) => lines.push(line), 'debug', now),
    },
  });
  return withClockMirror({
    kind: 'node',
    bffUrl: stack.bffUrl,
    bffPort: stack.bff.port,
    idp: stack.idp,
    api: stack.api,
    env: stack.env,
    advanceClock: async (seconds) => {
      offsetMs += seconds * 1000;
    },
    setIdpDown: async (down) => {
      idpDown = down;
    },
    logLines: async () => [...lines],
    close: () => stack.close(),
  });
}

async function startWorkerTarget(options: TargetOptions): Promise<Target> {
  const port = await freePort();
  const bffUrl = `http://localhost:${port}`;
  const { idp, api, env } = await startDevIdpAndApi(bffUrl, { ...options, env: { ...TEST_TARGET_ENV, ...options.env } });
  const bindings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const mf = new Miniflare({
    modules: true,
    scriptPath: WORKER_BUNDLE,
    compatibilityDate: '2026-04-26',
    bindings,
    host: '127.0.0.1',
    port,
  });
  await mf.ready;
  const control = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/__hono-bff-test/${path}`);
    if (!res.ok) throw new Error(`worker control ${path} failed: ${res.status}`);
    return res.json() as Promise<unknown>;
  };
  return withClockMirror({
    kind: 'workerd',
    bffUrl,
    bffPort: port,
    idp,
    api,
    env,
    advanceClock: async (seconds) => {
      await control(`clock?advance=${seconds}`);
    },
    setIdpDown: async (down) => {
      await control(`idp?down=${down ? 1 : 0}`);
    },
    logLines: async () => (await control('logs')) as string[],
    close: async () => {
      await mf.dispose();
      await Promise.all([idp.close(), api.close()]);
    },
  });
}

export { freePort };
