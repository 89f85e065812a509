/**
 * The Node adapter: serves a BFF app with `@hono/node-server` on a loopback
 * address by default, passes the socket's address on for X-Forwarded-For,
 * and shuts down gracefully.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Context } from 'hono';
import { serve, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import { createBff } from './app.js';
import { createHash } from 'node:crypto';
import { existsSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Hono } from 'hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { ConfigError, parseConfig, type BffConfig, type ConfigEnv } from './config.js';
import type { AssetFetcher } from './static/spa.js';
import type { BffDeps } from './runtime.js';
import { createJsonLineLogger, type Logger, type LogLevel } from './log.js';
import { createNodeUpstreamFetch } from './node-upstream.js';

/** Options of {@link startNodeServer}. */
export interface NodeServerOptions {
  /** Environment-style configuration (see the README's table). @default process.env */
  env?: ConfigEnv;
  /** An already validated configuration; when given, `env` is read only for HOST and PORT. @default parseConfig(env) */
  config?: BffConfig;
  /** Interface to bind. @default env.HOST or "127.0.0.1" */
  host?: string;
  /** Port to bind; 0 picks a free one. @default env.PORT or 3000 */
  port?: number;
  /** Dependencies passed to `createBff` (fetch, clock, logger). */
  deps?: BffDeps;
}

/** A running Node server. */
export interface RunningNodeServer {
  /** `http://host:port` actually bound. */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and closes idle ones. */
  close(): Promise<void>;
}

/** The client's socket address, as `@hono/node-server` exposes it. */
export function nodeClientAddress(c: Context): string | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
}

/** A fetch handler as `@hono/node-server` calls it. */
export type NodeFetchHandler = (request: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;

/**
 * Serves a fetch handler on `host:port` (a Hono app's `fetch`, or a
 * late-bound one when the URL must be known before the app is built).
 */
export async function serveNode(fetchHandler: NodeFetchHandler, options: { host?: string; port?: number } = {}): Promise<RunningNodeServer> {
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: fetchHandler, hostname: host, port: options.port ?? 3000 }, () => resolve(s as Server));
    (s as Server).once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * Validates the configuration (throwing `ConfigError` naming every bad key),
 * builds the BFF and serves it.
 */
export async function startNodeServer(options: NodeServerOptions = {}): Promise<RunningNodeServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? (env.HOST?.trim() || '127.0.0.1');
  const port = options.port ?? parsePort(env.PORT);
  const app = createNodeBff(options.config ?? parseConfig(env), options.deps);
  return serveNode(app.fetch, { host, port });
}

/**
 * `createBff` with the Node defaults: socket client address, the SPA folder when `BFF_STATIC_DIR` is set,
 * proxied calls through a keep-alive `node:http` client (unless `deps` gives `upstreamFetch` or `fetch`),
 * node:crypto's synchronous SHA-256 for the session cache's keys, and log lines written in batches
 * ({@link createNodeLogger}, unless `deps` gives a `logger`).
 */
export function createNodeBff(config: BffConfig, deps: BffDeps = {}): Hono {
  const assets = config.staticDir === undefined ? undefined : nodeAssetFetcher(config.staticDir);
  const upstreamFetch = deps.upstreamFetch ?? deps.fetch ?? createNodeUpstreamFetch();
  const logger = deps.logger ?? createNodeLogger(config.logLevel, deps.now);
  return createBff(config, { clientAddress: nodeClientAddress, ...(assets ? { assets } : {}), upstreamFetch, sha256: nodeSha256, logger, ...deps });
}

const exitFlushers = new Set<() => void>();
let exitListening = false;

/**
 * A JSON-lines logger for Node (the format of `createConsoleLogger`: info and
 * debug on stdout, warnings and errors on stderr) that writes each stream's
 * lines in one batch per event-loop turn instead of one `console` call per
 * line: a per-request log line otherwise costs a sizeable share of a proxied
 * request. Lines are flushed at the latest after the current turn, when 64 KiB
 * are pending, and synchronously when the process exits.
 */
export function createNodeLogger(minLevel: LogLevel = 'info', now: () => number = Date.now): Logger {
  const pending = { out: [] as string[], err: [] as string[] };
  let bytes = 0;
  let scheduled = false;
  const take = (): [string, string] => {
    const lines: [string, string] = [pending.out.length > 0 ? `${pending.out.join('\n')}\n` : '', pending.err.length > 0 ? `${pending.err.join('\n')}\n` : ''];
    pending.out = [];
    pending.err = [];
    bytes = 0;
    return lines;
  };
  const flush = () => {
    scheduled = false;
    const [out, err] = take();
    if (out) process.stdout.write(out);
    if (err) process.stderr.write(err);
  };
  exitFlushers.add(() => {
    // Synchronous: the process is going away.
    const [out, err] = take();
    if (out) writeSync(1, out);
    if (err) writeSync(2, err);
  });
  if (!exitListening) {
    exitListening = true;
    process.once('exit', () => exitFlushers.forEach((flushNow) => flushNow()));
  }
  return createJsonLineLogger(
    (line, level) => {
      (level === 'warn' || level === 'error' ? pending.err : pending.out).push(line);
      bytes += line.length;
      if (bytes >= 64 * 1024) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    minLevel,
    now,
  );
}

/** Synchronous SHA-256 (hex): Web Crypto's asynchronous digest costs a thread-pool round trip per call. */
function nodeSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Serves a folder as an {@link AssetFetcher} (404 when a file is absent),
 * with `@hono/node-server`'s static middleware (which refuses traversal).
 *
 * @throws {ConfigError} naming BFF_STATIC_DIR when the folder has no index.html.
 */
export function nodeAssetFetcher(folder: string): AssetFetcher {
  const root = resolve(folder);
  if (!existsSync(join(root, 'index.html'))) throw new ConfigError([`BFF_STATIC_DIR: no index.html in ${root} (build the SPA first)`]);
  const files = new Hono();
  files.use('*', serveStatic({ root }));
  return { fetch: async (request) => files.fetch(request) };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('PORT must be an integer from 0 to 65535');
  return port;
}

