/**
 * Helpers shared by the benchmark's server processes: every server is a
 * child of `bench/run.ts` with an IPC channel, reports where it listens, and
 * exits when told to or as soon as the harness goes away.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** Messages a server sends to the harness. */
export type ChildMessage =
  | { type: 'ready'; url: string; port: number }
  | { type: 'configured' }
  | { type: 'clock-set'; offsetMs: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage }
  | { type: 'error'; message: string };

/** Messages the harness sends to a server. */
export type ParentMessage =
  | { type: 'configure'; env: Record<string, string> }
  | { type: 'clock'; offsetMs: number }
  | { type: 'memory' }
  | { type: 'exit' };

/** Sends a message to the harness (no-op without an IPC channel). */
export function tell(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * Exits when the harness says so (gracefully, so `--cpu-prof` can write its
 * profile) or when the IPC channel closes (the harness died).
 */
export function exitWithHarness(onMessage?: (message: ParentMessage) => void): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'exit') process.exit(0);
    if (message.type === 'memory') tell({ type: 'memory', usage: process.memoryUsage() });
    onMessage?.(message);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

/** Reports a listening server's URL to the harness. */
export function reportListening(server: Server): void {
  const { port } = server.address() as AddressInfo;
  tell({ type: 'ready', url: `http://127.0.0.1:${port}`, port });
}

/** A required environment variable. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    tell({ type: 'error', message: `${name} is not set` });
    process.exit(1);
  }
  return value;
}
