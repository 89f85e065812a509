/**
 * Benchmark baseline "the limit": a minimal `node:http` reverse proxy with a
 * keep-alive `http.Agent`, no session logic. It forwards every request as is
 * (path, method, headers minus hop-by-hop ones, body piped) to the upstream
 * and pipes the answer back.
 *
 * Env: BENCH_UPSTREAM (origin of the example API).
 */
import http from 'node:http';
import { exitWithHarness, reportListening, requiredEnv } from './child.js';

exitWithHarness();
const upstream = new URL(requiredEnv('BENCH_UPSTREAM'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

const server = http.createServer((req, res) => {
  const outgoing = http.request(
    { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: withoutHopByHop(req.headers), agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.headers));
      answer.pipe(res);
    },
  );
  outgoing.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) outgoing.destroy();
  });
  req.pipe(outgoing);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => reportListening(server));
