/**
 * Benchmark target: the BFF as `createNodeBff` builds it (keep-alive
 * `node:http` upstream client, session cache), on @hono/node-server.
 *
 * It listens first (the IdP must know the redirect URI, which has the port),
 * then takes its configuration (BFF_* variables, secrets included) over IPC,
 * never from argv. The harness may move the BFF's clock (the injectable
 * `deps.now`) to make a session's access token due for refresh (scenario d).
 */
import { createNodeBff, serveNode, type NodeFetchHandler } from '../../src/node.js';
import { parseConfig } from '../../src/config.js';
import { exitWithHarness, tell, type ParentMessage } from './child.js';

let offsetMs = 0;
let handler: NodeFetchHandler = () => new Response('not configured', { status: 503 });

exitWithHarness((message: ParentMessage) => {
  if (message.type === 'configure') {
    try {
      const app = createNodeBff(parseConfig(message.env), { now: () => Date.now() + offsetMs });
      handler = app.fetch;
      tell({ type: 'configured' });
    } catch (error) {
      tell({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  } else if (message.type === 'clock') {
    offsetMs = message.offsetMs;
    tell({ type: 'clock-set', offsetMs });
  }
});

const running = await serveNode((request, env) => handler(request, env), { host: '127.0.0.1', port: 0 });
running.server.keepAliveTimeout = 30_000;
tell({ type: 'ready', url: running.url, port: running.port });
