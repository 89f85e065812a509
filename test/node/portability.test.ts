/**
 * Guard: the core runs on Node and in workerd, so no file of it may import a
 * `node:` module or a Node-only package. Only the Node adapter (src/node.ts and
 * its upstream client src/node-upstream.ts),
 * the bin (src/cli.ts) and tests may. The browser client must not import
 * anything outside src/client/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const NODE_ONLY_FILES = new Set(['node.ts', 'node-upstream.ts', 'cli.ts']);
const NODE_ONLY_PACKAGES = ['@hono/node-server', 'oidc-provider', 'tough-cookie', 'miniflare', 'wrangler', 'vite', 'vitest', 'tsx', '@playwright/test', 'playwright-core'];
const NODE_BUILTINS = ['fs', 'path', 'os', 'http', 'https', 'net', 'crypto', 'child_process', 'stream', 'url', 'util', 'zlib', 'buffer', 'events', 'worker_threads', 'tls', 'dns'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function importsOf(code: string): string[] {
  const specifiers: string[] = [];
  for (const match of code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    specifiers.push((match[1] ?? match[2] ?? match[3] ?? match[4])!);
  }
  return specifiers;
}

const core = sourceFiles(SRC).filter((file) => !NODE_ONLY_FILES.has(relative(SRC, file)));

describe('portable core', () => {
  it('finds the core files (the guard is looking at something)', () => {
    expect(core.length).toBeGreaterThan(20);
    expect(core.map((f) => relative(SRC, f))).toContain('worker.ts');
  });

  it.each(core.map((file) => [relative(SRC, file), file]))('%s imports no node: module or Node-only package', (_name, file) => {
    const bad = importsOf(readFileSync(file, 'utf8')).filter(
      (s) => s.startsWith('node:') || NODE_BUILTINS.includes(s) || NODE_ONLY_PACKAGES.some((p) => s === p || s.startsWith(`${p}/`)),
    );
    expect(bad).toEqual([]);
  });

  it.each(core.filter((f) => relative(SRC, f).startsWith('client/')).map((file) => [relative(SRC, file), file]))('%s (browser client) imports only from src/client/', (_name, file) => {
    const outside = importsOf(readFileSync(file, 'utf8')).filter((s) => !s.startsWith('./'));
    expect(outside).toEqual([]);
  });

  it('the import scanner sees node: imports (self-test)', () => {
    expect(importsOf("import { x } from 'node:fs';\nexport * from \"node:path\";\nconst m = await import('node:os');")).toEqual(['node:fs', 'node:path', 'node:os']);
  });
});
