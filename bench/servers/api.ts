/**
 * Benchmark upstream: the example API (dev/api.ts, JWT-validating resource
 * server) on @hono/node-server in its own process, without the request
 * recording of `startExampleApi` (which would grow without bound under load).
 *
 * Env: BENCH_ISSUER (the dev IdP), BENCH_AUDIENCE (the API's resource indicator).
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createExampleApiApp } from '../../dev/api.js';
import { exitWithHarness, reportListening, requiredEnv } from './child.js';

exitWithHarness();
const app = createExampleApiApp({ issuer: requiredEnv('BENCH_ISSUER'), audience: requiredEnv('BENCH_AUDIENCE') });
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => reportListening(server as Server)) as Server;
// Many keep-alive connections from three proxies and the load generator.
server.keepAliveTimeout = 30_000;
