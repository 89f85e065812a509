/**
 * Benchmark baseline: a plain Hono proxy on @hono/node-server forwarding with
 * the global `fetch` (hono/proxy), bodies streamed both ways, no session logic.
 *
 * Env: BENCH_UPSTREAM (origin of the example API).
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { proxy } from 'hono/proxy';
import { exitWithHarness, reportListening, requiredEnv } from './child.js';

exitWithHarness();
const upstream = requiredEnv('BENCH_UPSTREAM').replace(/\/$/, '');
const app = new Hono();
app.all('/api/*', (c) => {
  const url = new URL(c.req.url);
  return proxy(`${upstream}${url.pathname}${url.search}`, { raw: c.req.raw, headers: { ...c.req.header(), host: undefined } });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => reportListening(server as Server)) as Server;
server.keepAliveTimeout = 30_000;
