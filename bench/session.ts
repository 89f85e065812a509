/**
 * `npm run bench:session`: what a session costs per request, and how big its cookie is.
 *
 * - seal and unseal (iron-session, as the BFF configures it) per operation;
 * - reading a request's session (`readSession`: cookie parse, unseal, checks)
 *   without the session cache and with it (a hit: SHA-256 of the cookie value
 *   plus a map lookup), with Web Crypto's SHA-256 (Workers) and node:crypto's
 *   synchronous one (what the Node adapter injects);
 * - cookie sizes for a typical token set (RS256 JWT access and ID tokens,
 *   opaque refresh token, identity claims) and for a 6 KB access token:
 *   chunks, bytes of the Set-Cookie lines and of the Cookie header;
 * - memory of the cache: heap bytes per entry, measured by filling a cache.
 *
 * Every loop is bounded (iterations, not time). Options: --quick (fewer iterations).
 */
import { createHash, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { generateKeyPair, SignJWT } from 'jose';
import { parseCookieHeader } from '../src/session/cookies.js';
import { createSealer, type Sealer } from '../src/session/seal.js';
import { createSessionCache } from '../src/session/session-cache.js';
import { readSession, sessionSetCookies, type SessionData } from '../src/session/session.js';

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const scale = quick ? 0.2 : 1;
const NOW = Math.floor(Date.now() / 1000);
const IDLE = 8 * 3600;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Runs `fn` `iterations` times (after a tenth as warm-up); µs per op and ops/s. */
async function measure(iterations: number, fn: (i: number) => unknown): Promise<{ usPerOp: number; opsPerSec: number; iterations: number }> {
  const n = Math.max(10, Math.round(iterations * scale));
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - started) / 1000 / n;
  return { usPerOp: us, opsPerSec: 1e6 / us, iterations: n };
}

/** Typical tokens of an OIDC login: RS256 JWT access token (RFC 9068) and ID token, an opaque refresh token. */
async function typicalTokens(accessTokenPadding = 0) {
  const { privateKey } = await generateKeyPair('RS256');
  const iat = NOW;
  const common = { iss: 'https://idp.example.com', sub: 'c8f6a1e2-4b7d-4a0e-9d1f-2b3c4d5e6f70' };
  const at = await new SignJWT({
    ...common,
    aud: 'https://api.example.com',
    client_id: 'hono-bff',
    scope: 'openid profile email offline_access notes:read notes:write',
    jti: randomBytes(16).toString('base64url'),
    ...(accessTokenPadding ? { groups: Array.from({ length: Math.ceil(accessTokenPadding / 40) }, (_, i) => `group-${i}-${randomBytes(12).toString('base64url')}`) } : {}),
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: randomBytes(16).toString('base64url') })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .sign(privateKey);
  const idt = await new SignJWT({
    ...common,
    aud: 'hono-bff',
    nonce: randomBytes(16).toString('base64url'),
    at_hash: randomBytes(16).toString('base64url'),
    sid: randomBytes(16).toString('base64url'),
    auth_time: iat,
    name: 'Alice Example',
    given_name: 'Alice',
    family_name: 'Example',
    email: 'alice@example.com',
    email_verified: true,
  })
    .setProtectedHeader({ alg: 'RS256', kid: randomBytes(16).toString('base64url') })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(privateKey);
  return { at, idt, rt: randomBytes(32).toString('base64url') };
}

function sessionOf(tokens: { at: string; idt: string; rt: string }, sid = randomBytes(16).toString('base64url')): SessionData {
  return {
    v: 1,
    sid,
    iat: NOW,
    exp: NOW + 7 * 86400,
    seen: NOW,
    iss: 'https://idp.example.com',
    sub: 'c8f6a1e2-4b7d-4a0e-9d1f-2b3c4d5e6f70',
    aud: 'hono-bff',
    user: { sub: 'c8f6a1e2-4b7d-4a0e-9d1f-2b3c4d5e6f70', name: 'Alice Example', given_name: 'Alice', family_name: 'Example', email: 'alice@example.com', email_verified: true },
    at: tokens.at,
    atExp: NOW + 300,
    scope: 'openid profile email offline_access notes:read notes:write',
    rt: tokens.rt,
    idt: tokens.idt,
  };
}

/** The Cookie header a browser sends after these Set-Cookie lines. */
function cookieHeaderOf(lines: readonly string[]): string {
  return lines.map((line) => line.split(';', 1)[0]).join('; ');
}

const nodeSha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const fixed = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const sealer: Sealer = createSealer([randomBytes(32).toString('base64url')]);
  const typical = await typicalTokens();
  const large = await typicalTokens(6 * 1024);
  const results: Record<string, unknown> = { node: process.version, quick };

  console.log(`bench:session (Node ${process.version}${quick ? ', quick mode' : ''})\n`);
  console.log('Cookie sizes (Set-Cookie lines include the attributes; each line stays within 4096 bytes)');
  const sizes: Record<string, unknown> = {};
  for (const [name, tokens] of [
    ['typical (JWT access + ID token, opaque refresh token, claims)', typical],
    ['6 KB access token', large],
  ] as const) {
    const session = sessionOf(tokens);
    const lines = await sessionSetCookies(session, {}, sealer, NOW);
    const header = cookieHeaderOf(lines);
    const row = {
      accessTokenBytes: tokens.at.length,
      idTokenBytes: tokens.idt.length,
      refreshTokenBytes: tokens.rt.length,
      sessionJsonBytes: JSON.stringify(session).length,
      chunks: lines.length,
      setCookieBytes: lines.reduce((sum, line) => sum + line.length, 0),
      longestSetCookieLine: Math.max(...lines.map((line) => line.length)),
      cookieHeaderBytes: header.length,
    };
    sizes[name] = row;
    console.log(
      `  ${name}: AT ${row.accessTokenBytes} B, IDT ${row.idTokenBytes} B, RT ${row.refreshTokenBytes} B, session JSON ${row.sessionJsonBytes} B -> ` +
        `${row.chunks} chunk(s), Set-Cookie ${row.setCookieBytes} B (longest line ${row.longestSetCookieLine}), Cookie header ${row.cookieHeaderBytes} B`,
    );
  }
  results.cookieSizes = sizes;

  console.log('\nPer operation (µs/op, ops/s on one core)');
  const perOp: Record<string, unknown> = {};
  const report = (name: string, r: { usPerOp: number; opsPerSec: number; iterations: number }) => {
    perOp[name] = r;
    console.log(`  ${name.padEnd(62)} ${fixed(r.usPerOp).padStart(8)} µs/op ${Math.round(r.opsPerSec).toString().padStart(9)} ops/s  (${r.iterations} ops)`);
  };
  for (const [label, tokens] of [
    ['typical', typical],
    ['6 KB AT', large],
  ] as const) {
    const session = sessionOf(tokens);
    const lines = await sessionSetCookies(session, {}, sealer, NOW);
    const header = cookieHeaderOf(lines);
    const sealed = Object.values(parseCookieHeader(header)).join('');
    report(`seal (${label})`, await measure(1000, () => sealer.seal('session', session, 3600)));
    report(`unseal (${label})`, await measure(1000, () => sealer.unseal('session', sealed)));
    report(`readSession, no cache (${label})`, await measure(1000, async () => {
      const cookies = parseCookieHeader(header);
      if ((await readSession(cookies, sealer, NOW, IDLE)).status !== 'valid') throw new Error('invalid');
    }));
    for (const [digestName, sha256] of [
      ['Web Crypto SHA-256', undefined],
      ['node:crypto SHA-256', nodeSha256],
    ] as const) {
      const cache = createSessionCache(sealer, { ...(sha256 ? { sha256 } : {}) });
      report(`readSession, cache hit, ${digestName} (${label})`, await measure(20_000, async () => {
        const cookies = parseCookieHeader(header);
        if ((await readSession(cookies, cache.sealerFor(cookies), NOW, IDLE)).status !== 'valid') throw new Error('invalid');
      }));
      if (cache.stats().misses !== 1) throw new Error(`expected one miss, got ${cache.stats().misses}`);
    }
  }
  results.perOperation = perOp;

  // Memory of the cache: fill one with distinct sessions (each needs a seal and an unseal: bounded count).
  const entries = Math.round(2000 * scale);
  const session = sessionOf(typical);
  const values: string[] = [];
  for (let i = 0; i < entries; i++) values.push(await sealer.seal('session', { ...session, sid: `sid-${i}` }, 3600));
  const cache = createSessionCache(sealer, { sha256: nodeSha256 });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const value of values) {
    const cookies = { '__Host-bff-session': value };
    await readSession(cookies, cache.sealerFor(cookies), NOW, IDLE);
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  const stats = cache.stats();
  const perEntry = (after - before) / stats.entries;
  results.cacheMemory = { entries: stats.entries, heapBytesPerEntry: perEntry, estimatedBytesPerEntry: stats.bytes / stats.entries, heapMbAt10000: (perEntry * 10_000) / 1024 / 1024 };
  console.log(
    `\nSession cache memory (typical sessions): ${stats.entries} entries use ${fixed((after - before) / 1024 / 1024)} MB of heap, ` +
      `${Math.round(perEntry)} B per entry (the cache's own estimate: ${Math.round(stats.bytes / stats.entries)} B); ` +
      `at the 10,000-entry bound about ${fixed((perEntry * 10_000) / 1024 / 1024)} MB (the 32 MiB byte bound caps larger sessions).`,
  );
  console.log(`\n${JSON.stringify(results)}`);
}

await main();
