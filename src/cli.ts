#!/usr/bin/env node
/**
 * The `hono-bff` bin: configuration from environment variables only, a JSON
 * log line when ready, graceful shutdown on SIGTERM/SIGINT, exit code 1 with
 * every bad key named when the configuration is invalid.
 */
import { ConfigError, parseConfig } from './config.js';
import { createConsoleLogger } from './log.js';
import { createNodeLogger, startNodeServer } from './node.js';

let logger = createConsoleLogger('info');

try {
  const config = parseConfig(process.env);
  logger = createNodeLogger(config.logLevel);
  const running = await startNodeServer({ config, deps: { logger } });
  logger.log('info', 'server.listening', { url: running.url });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log('info', 'server.stopping', { signal });
    // Hard stop if in-flight requests do not finish in time.
    setTimeout(() => process.exit(0), 10_000).unref();
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  logger.log('error', 'server.start_failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown' });
  process.exit(1);
}
