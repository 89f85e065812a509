/**
 * The Cloudflare Workers entry (`main` in wrangler.toml). The app is built
 * once per isolate from the `env` bindings (the same variable names as on
 * Node); discovery is fetched lazily on first use and cached per isolate.
 * A bad configuration answers every request with a 500 problem and logs
 * the bad keys once per isolate (never a secret's value).
 */
import type { Context } from 'hono';
import type { Hono } from 'hono';
import { createBff } from './app.js';
import { ConfigError, parseConfig, type ConfigEnv } from './config.js';
import { BffError, problemResponse } from './errors.js';
import type { BffDeps } from './runtime.js';
import type { AssetFetcher } from './static/spa.js';

/** Bindings of the Worker: string variables and secrets, plus the optional static assets. */
export interface WorkerEnv {
  /** Workers static assets (the example SPA), when `[assets]` is configured. */
  ASSETS?: AssetFetcher;
  [name: string]: unknown;
}

/** The client's address: Cloudflare sets CF-Connecting-IP on every request it forwards to a Worker. */
export function workerClientAddress(c: Context): string | undefined {
  return c.req.header('cf-connecting-ip');
}

/** The string-valued bindings, as `parseConfig` input. */
export function configEnvFrom(env: WorkerEnv): ConfigEnv {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
}

type Built = { app: Hono } | { error: BffError };

/**
 * Builds the BFF for a Workers isolate: config errors become a 500 problem
 * for every request (logged once with the bad keys). `deps` lets a test
 * harness inject a clock or fetch; production passes none.
 */
export function buildWorkerApp(env: WorkerEnv, deps: BffDeps = {}): Built {
  try {
    const config = parseConfig(configEnvFrom(env));
    return { app: createBff(config, { clientAddress: workerClientAddress, ...(env.ASSETS ? { assets: env.ASSETS } : {}), ...deps }) };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'error', event: 'config.invalid', domain: 'config', problems: error.problems }));
      return { error };
    }
    console.error(JSON.stringify({ level: 'error', event: 'startup.failed', domain: 'internal', error: error instanceof Error ? error.name : 'unknown' }));
    return { error: new BffError('internal_error', { cause: error }) };
  }
}

let isolateApp: Built | undefined;

export default {
  /** Handles a request with the isolate's app, built on the first request. */
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    isolateApp ??= buildWorkerApp(env);
    if ('error' in isolateApp) return problemResponse(isolateApp.error);
    return isolateApp.app.fetch(request, env, ctx as never);
  },
};
