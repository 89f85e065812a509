/** Vitest global setup of the unit project: builds the example SPA once (the Worker's static assets). */
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

export default async function buildSpa(): Promise<void> {
  await build({ configFile: fileURLToPath(new URL('../../example-spa/vite.config.ts', import.meta.url)), logLevel: 'warn' });
}
