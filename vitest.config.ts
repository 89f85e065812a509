import { defineConfig } from 'vitest/config';

/**
 * Three projects: unit and Node-only tests; the shared integration suite
 * against the BFF on Node; the same files against the Worker in workerd.
 */
const integration = ['test/integration/**/*.test.ts', 'test/security/**/*.test.ts'];
/** The hostile IdP drives an in-process Node BFF: Node project only. */
const nodeOnlyIntegration = ['test/security/hostile-idp/**'];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'dev/**/*.test.ts', 'test/support/**/*.test.ts', 'test/node/**/*.test.ts'],
          globalSetup: ['test/support/build-spa.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'node', include: integration, env: { BFF_TARGET: 'node' } },
      },
      {
        extends: true,
        test: {
          name: 'workerd',
          include: integration,
          exclude: nodeOnlyIntegration,
          env: { BFF_TARGET: 'workerd', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
          globalSetup: ['test/support/build-worker.ts'],
        },
      },
    ],
  },
});
