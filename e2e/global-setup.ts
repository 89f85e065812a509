/** Builds the example SPA once before the e2e suite (the BFF serves example-spa/dist). */
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

export default async function globalSetup(): Promise<void> {
  await build({ configFile: fileURLToPath(new URL('../example-spa/vite.config.ts', import.meta.url)), logLevel: 'warn' });
}
