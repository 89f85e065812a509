/** Loopback port helpers for tests (kept free of heavy imports). */
import { createServer } from 'node:net';

/** A free loopback port (for servers whose URL must be known before they start). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
