/**
 * `npm run bench`: proxy throughput of the BFF against two baselines, on loopback.
 *
 * Processes (each server in its own, so they do not share an event loop):
 *   harness (this file)  the dev IdP (oidc-provider) and the load generator (autocannon)
 *   api                  the example API (dev/api.ts), JWT-validating upstream
 *   node-proxy           minimal node:http reverse proxy, keep-alive Agent: "the limit"
 *   hono-proxy           plain Hono proxy on @hono/node-server forwarding with global fetch
 *   bff                  the BFF (createNodeBff), configured against the dev IdP
 *
 * It logs in once through the real dev IdP (TestBrowser + loginThroughIdp),
 * gives the BFF its session cookie and the other targets the session's access
 * token as a Bearer (the example API validates it on every request), then for
 * each scenario runs a warm-up and `rounds` rounds alternating the targets
 * api, node-proxy, hono-proxy, bff, api, … with the same duration and
 * connections. BFF requests behave like one browser: a `Set-Cookie` of the
 * session (a refresh, the once-a-minute re-seal) replaces the cookie the
 * following requests send.
 *
 * Scenarios:
 *   a  GET  /api/me                     small JSON
 *   b  POST /api/echo                   16 KiB body, echoed back
 *   c  GET  /api/large?bytes=1048576    1 MiB response, streamed (peak RSS shows it is not buffered)
 *   d  GET  /api/me                     with a session whose access token is due for refresh: a new
 *                                       login per BFF run, and the BFF's clock moved forward so that
 *                                       the token is inside the refresh leeway; the dev IdP counts its
 *                                       token-endpoint hits during the run (expected: 1, not one per request)
 *
 * Printed and written to bench/results/bench-<time>.json: per scenario and target the
 * median req/s, p50/p99 latency (medians over the rounds), errors and non-2xx (sums,
 * must be 0), the peak RSS of the target's process and its CPU time per request; the
 * ratios BFF / node:http proxy and BFF / plain Hono proxy; per process the RSS before
 * the load, after the run and its high-water mark, and its V8 heap. See bench/README.md.
 *
 * Options (flags, or environment variables):
 *   --duration=S     BENCH_DURATION      seconds per measured run (10)
 *   --connections=N  BENCH_CONNECTIONS   concurrent connections (32)
 *   --rounds=N       BENCH_ROUNDS        rounds per scenario (3)
 *   --warmup=S       BENCH_WARMUP        seconds of warm-up per target and scenario (2)
 *   --scenarios=abcd BENCH_SCENARIOS     which scenarios
 *   --log-level=L    BENCH_BFF_LOG_LEVEL the BFF's BFF_LOG_LEVEL (info, as deployed by default)
 *   --cpu-prof       BENCH_CPU_PROF=1    run the BFF with --cpu-prof (profile in bench/results/profiles/)
 *   --quick          BENCH_QUICK=1       smoke check: 2 s runs, 1 round, 1 s warm-up
 *
 * Every child is killed at the end, on errors and on SIGINT/SIGTERM; children also exit
 * by themselves when the harness's IPC channel closes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Client, type Result } from 'autocannon';
import { startDevIdp, type DevIdp } from '../dev/idp.js';
import { parseCookieHeader } from '../src/session/cookies.js';
import { createSealer } from '../src/session/seal.js';
import { readSession } from '../src/session/session.js';
import { loginThroughIdp, TestBrowser } from '../test/support/browser.js';
import type { ChildMessage, ParentMessage } from './servers/child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const CLIENT_ID = 'hono-bff-bench';
const RESOURCE = 'https://api.hono-bff.test';
const SCOPES = 'openid profile email offline_access notes:read notes:write';
/** Access tokens live an hour: long enough for a whole run, so the baselines' Bearer stays valid. */
const ACCESS_TOKEN_TTL = 3600;
/** The BFF refreshes tokens that expire within this many seconds (config.refreshLeewaySeconds). */
const REFRESH_LEEWAY = 60;

// ---------------------------------------------------------------- options

interface Options {
  duration: number;
  connections: number;
  rounds: number;
  warmup: number;
  scenarios: ScenarioId[];
  logLevel: string;
  cpuProf: boolean;
  quick: boolean;
}

type ScenarioId = 'a' | 'b' | 'c' | 'd';
type TargetId = 'api' | 'node-proxy' | 'hono-proxy' | 'bff';
const TARGETS: readonly TargetId[] = ['api', 'node-proxy', 'hono-proxy', 'bff'];
const TARGET_LABEL: Record<TargetId, string> = {
  api: 'example API (direct)',
  'node-proxy': 'node:http proxy',
  'hono-proxy': 'plain Hono proxy (fetch)',
  bff: 'BFF',
};

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg} (see the header of bench/run.ts)`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  const value = (flag: string, env: string): string | undefined => flags.get(flag) ?? process.env[env];
  const quick = value('quick', 'BENCH_QUICK') === 'true' || value('quick', 'BENCH_QUICK') === '1';
  const number = (flag: string, env: string, fallback: number, min: number, max: number): number => {
    const raw = value(flag, env);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${flag} must be a number from ${min} to ${max}`);
    return n;
  };
  const scenarios = (value('scenarios', 'BENCH_SCENARIOS') ?? 'abcd').split('').filter(Boolean) as ScenarioId[];
  if (scenarios.length === 0 || scenarios.some((s) => !['a', 'b', 'c', 'd'].includes(s))) throw new Error('--scenarios takes letters among a, b, c, d');
  const cpuProf = value('cpu-prof', 'BENCH_CPU_PROF');
  return {
    duration: number('duration', 'BENCH_DURATION', quick ? 2 : 10, 1, 120),
    connections: number('connections', 'BENCH_CONNECTIONS', 32, 1, 1024),
    rounds: number('rounds', 'BENCH_ROUNDS', quick ? 1 : 3, 1, 20),
    warmup: number('warmup', 'BENCH_WARMUP', quick ? 1 : 2, 0, 60),
    scenarios,
    logLevel: value('log-level', 'BENCH_BFF_LOG_LEVEL') ?? 'info',
    cpuProf: cpuProf === 'true' || cpuProf === '1',
    quick,
  };
}

// ---------------------------------------------------------------- child processes

interface Child {
  name: string;
  process: ChildProcess;
  url: string;
  port: number;
}

const children: Child[] = [];
const starting = new Set<ChildProcess>();
const SERVERS = ['api', 'node-proxy', 'hono-proxy', 'bff'] as const;

/** How server scripts are started: bundled JavaScript run by plain node, or the TypeScript through tsx. */
interface Launcher {
  script(name: (typeof SERVERS)[number]): string;
  execArgv: string[];
  note: string;
}

/**
 * Bundles the server scripts (and the src/ they import; packages stay external) with
 * esbuild, so each server runs as plain node: the tsx loader would add ~30 MB of RSS
 * (its loader thread) to every process. Falls back to tsx when esbuild is missing.
 */
async function prepareServers(outdir: string): Promise<Launcher> {
  const entryPoints = SERVERS.map((name) => join(ROOT, 'bench', 'servers', `${name}.ts`));
  try {
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints, outdir, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'linked', outExtension: { '.js': '.mjs' }, logLevel: 'warning' });
    return { script: (name) => join(outdir, `${name}.mjs`), execArgv: [], note: 'servers bundled with esbuild, run by plain node' };
  } catch (error) {
    return {
      script: (name) => join(ROOT, 'bench', 'servers', `${name}.ts`),
      execArgv: ['--import', 'tsx'],
      note: `servers run through tsx (esbuild unavailable: ${error instanceof Error ? error.message : String(error)}); their RSS includes tsx's loader thread`,
    };
  }
}

/** Starts a server as a child process, resolving once it reports its URL. */
async function startChild(launcher: Launcher, name: (typeof SERVERS)[number], env: Record<string, string>, options: { execArgv?: string[]; logFile: string }): Promise<Child> {
  const log = openSync(options.logFile, 'w');
  const child = fork(launcher.script(name), [], {
    cwd: ROOT,
    execArgv: [...launcher.execArgv, ...(options.execArgv ?? [])],
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', log, log, 'ipc'],
  });
  starting.add(child);
  try {
    const ready = await waitFor(child, name, (m) => (m.type === 'ready' ? m : undefined), 30_000);
    const entry = { name, process: child, url: ready.url, port: ready.port };
    children.push(entry);
    return entry;
  } finally {
    starting.delete(child);
    if (!children.some((c) => c.process === child)) child.kill('SIGKILL');
  }
}

/** Waits for a message of a child that `pick` accepts; fails on exit, on an error message, or after `timeoutMs`. */
function waitFor<T>(child: ChildProcess, name: string, pick: (message: ChildMessage) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${name}: no answer within ${timeoutMs} ms (see its log in bench/results/logs/)`)), timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'error') return done(new Error(`${name}: ${message.message}`));
      const picked = pick(message);
      if (picked !== undefined) done(undefined, picked);
    };
    const onExit = (code: number | null) => done(new Error(`${name} exited (code ${code}) before answering (see its log in bench/results/logs/)`));
    const done = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function send(child: Child, message: ParentMessage): void {
  child.process.send(message);
}

let stopping: Promise<void> | undefined;

/** Stops every child: a graceful exit first (so --cpu-prof writes its profile), SIGKILL after 5 s. */
function stopChildren(): Promise<void> {
  stopping ??= (async () => {
    for (const child of starting) child.kill('SIGKILL');
    await Promise.all(
      children.map(
        ({ process: child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            if (child.connected) child.send({ type: 'exit' } satisfies ParentMessage);
            else child.kill('SIGTERM');
          }),
      ),
    );
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopChildren().finally(() => process.exit(130));
  });
}
// Last resort if the harness exits without the cleanup having run.
process.once('exit', () => {
  for (const { process: child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const child of starting) child.kill('SIGKILL');
});

// ---------------------------------------------------------------- memory

/** RSS and high-water mark (MiB) of a process, from /proc (Linux); `ps` elsewhere. */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (Linux; NaN elsewhere). */
function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Kernel clock ticks per second (USER_HZ): 100 on Linux. */
const CLOCK_TICKS = 100;

/** Samples the RSS of the processes given, keeping the peak. */
function sampleRss(pids: Record<string, number>, everyMs = 100): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const rss = memoryOf(pid)?.rss;
      if (rss !== undefined && !(rss <= (peaks[name] ?? 0))) peaks[name] = rss;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

// ---------------------------------------------------------------- load

/** A browser-like cookie jar for the BFF's session cookies, shared by all connections of a run. */
class SessionJar {
  private readonly cookies = new Map<string, string>();
  constructor(header: string) {
    for (const [name, value] of Object.entries(parseCookieHeader(header))) this.cookies.set(name, value);
  }
  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  /** Applies `Set-Cookie` lines; true when the cookie header changed. */
  apply(lines: readonly string[]): boolean {
    let changed = false;
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      if (attributes.some((a) => /^max-age=0$/i.test(a))) changed = this.cookies.delete(name) || changed;
      else if (this.cookies.get(name) !== pair.slice(eq + 1)) {
        this.cookies.set(name, pair.slice(eq + 1));
        changed = true;
      }
    }
    return changed;
  }
}

interface LoadSpec {
  origin: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** For the BFF: the session jar its `Set-Cookie` answers update. */
  jar?: SessionJar;
}

interface RunResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
  cookieUpdates: number;
}

/** One autocannon run. */
async function load(spec: LoadSpec, seconds: number, connections: number): Promise<RunResult> {
  const clients: Client[] = [];
  let cookieUpdates = 0;
  const headers = () => ({ ...spec.headers, ...(spec.jar ? { cookie: spec.jar.header } : {}) });
  const result: Result = await autocannon({
    url: spec.origin,
    connections,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: spec.method,
        path: spec.path,
        headers: headers(),
        ...(spec.body ? { body: spec.body } : {}),
        onResponse: spec.jar
          ? (_status, _body, _context, responseHeaders) => {
              const setCookie = responseHeaders['set-cookie'] ?? responseHeaders['Set-Cookie'];
              if (setCookie === undefined) return;
              if (spec.jar!.apply(Array.isArray(setCookie) ? setCookie : [setCookie])) {
                cookieUpdates++;
                const next = headers();
                for (const client of clients) client.setHeaders(next);
              }
            }
          : undefined,
      },
    ],
    setupClient: (client) => clients.push(client),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
    cookieUpdates,
  };
}

// ---------------------------------------------------------------- helpers

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pad = (text: string, width: number, right = false) => (right ? text.padStart(width) : text.padEnd(width));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function expectOk(response: Response, what: string, check?: (body: Uint8Array) => boolean): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200 || (check && !check(body))) {
    throw new Error(`sanity check failed for ${what}: HTTP ${response.status} ${new TextDecoder().decode(body.slice(0, 200))}`);
  }
}

// ---------------------------------------------------------------- main

interface TargetSummary {
  label: string;
  runs: RunResult[];
  medianRps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  peakRssMb: number;
  apiPeakRssMb: number;
  /** CPU time of the target's server process per request (median over the rounds): robust to other load on the machine. */
  cpuUsPerRequest: number;
}

interface ScenarioSummary {
  id: ScenarioId;
  title: string;
  targets: Partial<Record<TargetId, TargetSummary>>;
  ratios: { bffOverNodeProxy: number; bffOverHonoProxy: number; bffP99OverNodeProxyP99: number };
  /** Scenario d: the dev IdP's token-endpoint hits during each measured BFF run. */
  tokenEndpointHitsPerBffRun?: number[];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  mkdirSync(join(RESULTS, 'logs'), { recursive: true });
  const logFile = (name: string) => join(RESULTS, 'logs', `${stamp}-${name}.log`);
  const perRun = options.warmup * TARGETS.length + options.rounds * TARGETS.length * options.duration;
  console.log(
    `hono-bff bench: ${options.scenarios.length} scenario(s) x (${options.warmup} s warm-up + ${options.rounds} round(s)) x ${TARGETS.length} targets, ` +
      `${options.duration} s per run, ${options.connections} connections; about ${Math.ceil((perRun * options.scenarios.length) / 60)} min. ` +
      `Node ${process.version}, ${cpus().length} CPUs${options.quick ? ' (quick mode: a smoke check, not a measurement)' : ''}`,
  );

  let idp: DevIdp | undefined;
  try {
    const launcher = await prepareServers(join(RESULTS, '.build'));
    console.log(launcher.note);
    // The BFF listens first: the IdP must know its redirect URI, which has the port.
    const bff = await startChild(launcher, 'bff', {}, {
      logFile: logFile('bff'),
      execArgv: options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles')}`] : [],
    });
    const publicUrl = `http://localhost:${bff.port}`;
    const clientSecret = randomBytes(32).toString('base64url');
    idp = await startDevIdp({
      port: 0,
      clients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: [`${publicUrl}/bff/callback`], postLogoutRedirectUris: [`${publicUrl}/`] }],
      resource: RESOURCE,
      accessTokenTtlSeconds: ACCESS_TOKEN_TTL,
    });
    const api = await startChild(launcher, 'api', { BENCH_ISSUER: idp.issuer, BENCH_AUDIENCE: RESOURCE }, { logFile: logFile('api') });
    const nodeProxy = await startChild(launcher, 'node-proxy', { BENCH_UPSTREAM: api.url }, { logFile: logFile('node-proxy') });
    const honoProxy = await startChild(launcher, 'hono-proxy', { BENCH_UPSTREAM: api.url }, { logFile: logFile('hono-proxy') });
    const sessionSecret = randomBytes(32).toString('base64url');
    send(bff, {
      type: 'configure',
      env: {
        BFF_ISSUER: idp.issuer,
        BFF_CLIENT_ID: CLIENT_ID,
        BFF_CLIENT_SECRET: clientSecret,
        BFF_PUBLIC_URL: publicUrl,
        BFF_SESSION_SECRET: sessionSecret,
        BFF_RESOURCE: RESOURCE,
        BFF_SCOPES: SCOPES,
        BFF_ROUTES: JSON.stringify({ '/api': `${api.url}/api` }),
        BFF_LOG_LEVEL: options.logLevel,
      },
    });
    await waitFor(bff.process, 'bff', (m) => (m.type === 'configured' ? true : undefined), 10_000);
    const setClock = async (offsetMs: number) => {
      send(bff, { type: 'clock', offsetMs });
      await waitFor(bff.process, 'bff', (m) => (m.type === 'clock-set' && m.offsetMs === offsetMs ? true : undefined), 5_000);
    };

    const sealer = createSealer([sessionSecret]);
    /** Logs in through the dev IdP; the session cookie header and its access token. */
    const login = async () => {
      const browser = new TestBrowser();
      await loginThroughIdp(browser, publicUrl);
      const header = await browser.cookieHeader(publicUrl);
      const lookup = await readSession(parseCookieHeader(header), sealer, Math.floor(Date.now() / 1000));
      if (lookup.status !== 'valid') throw new Error('login did not leave a valid session cookie');
      return { header, accessToken: lookup.session.at };
    };
    const primary = await login();
    const mainJar = new SessionJar(primary.header);
    const bearer = () => `Bearer ${primary.accessToken}`;
    console.log(`logged in as alice through the dev IdP (${idp.issuer}); servers: ${children.map((c) => `${c.name} ${c.url}`).join(', ')}\n`);

    const origins: Record<TargetId, string> = { api: api.url, 'node-proxy': nodeProxy.url, 'hono-proxy': honoProxy.url, bff: bff.url };
    const pids: Record<string, number> = Object.fromEntries(children.map((c) => [c.name, c.process.pid!]));
    const echoBody = Buffer.from(randomBytes(12 * 1024).toString('base64'));
    const scenarioTitles: Record<ScenarioId, string> = {
      a: 'GET /api/me (small JSON)',
      b: 'POST /api/echo (16 KiB body, echoed)',
      c: 'GET /api/large?bytes=1048576 (1 MiB, streamed)',
      d: 'GET /api/me, access token due for refresh (BFF: fresh login per run, clock moved into the refresh leeway)',
    };

    const specFor = (scenario: ScenarioId, target: TargetId, jar: SessionJar): LoadSpec => {
      const auth: Record<string, string> = target === 'bff' ? { 'x-csrf': '1' } : { authorization: bearer() };
      const base = { origin: origins[target], ...(target === 'bff' ? { jar } : {}) };
      switch (scenario) {
        case 'b':
          return { ...base, method: 'POST', path: '/api/echo', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: echoBody };
        case 'c':
          return { ...base, method: 'GET', path: '/api/large?bytes=1048576', headers: auth };
        default:
          return { ...base, method: 'GET', path: '/api/me', headers: auth };
      }
    };

    // Sanity: every target answers every scenario correctly before anything is measured.
    for (const target of TARGETS) {
      for (const scenario of ['a', 'b', 'c'] as const) {
        const spec = specFor(scenario, target, mainJar);
        const response = await fetch(`${spec.origin}${spec.path}`, {
          method: spec.method,
          headers: { ...spec.headers, ...(spec.jar ? { cookie: spec.jar.header } : {}) },
          ...(spec.body ? { body: new Uint8Array(spec.body) } : {}),
        });
        await expectOk(response, `${target} ${scenario}`, (body) =>
          scenario === 'b' ? body.byteLength === echoBody.byteLength : scenario === 'c' ? body.byteLength === 1024 * 1024 : true,
        );
      }
    }

    const idleMemory = Object.fromEntries(children.map((c) => [c.name, memoryOf(c.process.pid!)]));

    /** One run of a target in a scenario (scenario d on the BFF: fresh login, clock moved, token hits counted). */
    const runOnce = async (scenario: ScenarioId, target: TargetId, seconds: number) => {
      let jar = mainJar;
      let hitsBefore = 0;
      if (scenario === 'd' && target === 'bff') {
        jar = new SessionJar((await login()).header);
        // The session's token now expires within the refresh leeway, as if ~59 minutes had passed.
        await setClock((ACCESS_TOKEN_TTL - REFRESH_LEEWAY + 10) * 1000);
        hitsBefore = idp!.tokenEndpointHits();
      }
      const sampler = sampleRss({ target: pids[target]!, api: pids.api! });
      const cpuBefore = cpuMsOf(pids[target]!);
      try {
        const result = await load(specFor(scenario, target, jar), seconds, options.connections);
        const peaks = sampler.stop();
        const tokenHits = scenario === 'd' && target === 'bff' ? idp!.tokenEndpointHits() - hitsBefore : undefined;
        const cpuUsPerRequest = ((cpuMsOf(pids[target]!) - cpuBefore) * 1000) / Math.max(1, result.requests);
        return { result, peakRss: peaks.target ?? NaN, apiPeakRss: peaks.api ?? NaN, tokenHits, cpuUsPerRequest };
      } finally {
        sampler.stop();
        if (scenario === 'd' && target === 'bff') await setClock(0);
      }
    };

    const summaries: ScenarioSummary[] = [];
    for (const scenario of options.scenarios) {
      console.log(`scenario ${scenario}: ${scenarioTitles[scenario]}`);
      if (options.warmup > 0) {
        for (const target of TARGETS) await runOnce(scenario, target, options.warmup);
      }
      const runs: Record<TargetId, Array<Awaited<ReturnType<typeof runOnce>>>> = { api: [], 'node-proxy': [], 'hono-proxy': [], bff: [] };
      for (let round = 1; round <= options.rounds; round++) {
        const line: string[] = [];
        for (const target of TARGETS) {
          const run = await runOnce(scenario, target, options.duration);
          runs[target].push(run);
          line.push(`${target} ${fixed(run.result.rps)}/s ${fixed(run.cpuUsPerRequest)}µs${run.tokenHits !== undefined ? ` (token hits ${run.tokenHits})` : ''}`);
          await sleep(200);
        }
        console.log(`  round ${round}: ${line.join(', ')}`);
      }
      const targets: ScenarioSummary['targets'] = {};
      for (const target of TARGETS) {
        const list = runs[target];
        targets[target] = {
          label: TARGET_LABEL[target],
          runs: list.map((r) => r.result),
          medianRps: median(list.map((r) => r.result.rps)),
          p50: median(list.map((r) => r.result.p50)),
          p99: median(list.map((r) => r.result.p99)),
          errors: list.reduce((sum, r) => sum + r.result.errors, 0),
          non2xx: list.reduce((sum, r) => sum + r.result.non2xx, 0),
          peakRssMb: Math.max(...list.map((r) => r.peakRss)),
          apiPeakRssMb: Math.max(...list.map((r) => r.apiPeakRss)),
          cpuUsPerRequest: median(list.map((r) => r.cpuUsPerRequest)),
        };
      }
      const bffSummary = targets.bff!;
      summaries.push({
        id: scenario,
        title: scenarioTitles[scenario],
        targets,
        ratios: {
          bffOverNodeProxy: bffSummary.medianRps / targets['node-proxy']!.medianRps,
          bffOverHonoProxy: bffSummary.medianRps / targets['hono-proxy']!.medianRps,
          bffP99OverNodeProxyP99: bffSummary.p99 / targets['node-proxy']!.p99,
        },
        ...(scenario === 'd' ? { tokenEndpointHitsPerBffRun: runs.bff.map((r) => r.tokenHits ?? NaN) } : {}),
      });
    }

    const processes: Record<string, ProcessMemory> = {};
    for (const child of children) {
      child.process.send({ type: 'memory' } satisfies ParentMessage);
      const usage = await waitFor(child.process, child.name, (m) => (m.type === 'memory' ? m.usage : undefined), 5_000).catch(() => undefined);
      const now = memoryOf(child.process.pid!);
      processes[child.name] = {
        rssBeforeLoadMb: idleMemory[child.name]?.rss ?? NaN,
        rssAfterRunMb: now?.rss ?? NaN,
        rssHighWaterMb: now?.hwm ?? NaN,
        heapUsedMb: usage ? usage.heapUsed / MB : NaN,
        heapTotalMb: usage ? usage.heapTotal / MB : NaN,
        externalMb: usage ? usage.external / MB : NaN,
      };
    }
    printReport(summaries, processes, options);
    mkdirSync(RESULTS, { recursive: true });
    const file = join(RESULTS, `bench-${stamp}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          startedAt: started.toISOString(),
          finishedAt: new Date().toISOString(),
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          options,
          servers: launcher.note,
          scenarios: summaries,
          processesMb: processes,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`\nresults: ${relative(process.cwd(), file)}`);
    if (options.cpuProf) console.log(`BFF CPU profile: ${relative(process.cwd(), join(RESULTS, 'profiles'))}/ (written when the BFF exits)`);
    const failures = summaries.flatMap((s) => Object.entries(s.targets).filter(([, t]) => t.errors > 0 || t.non2xx > 0).map(([name]) => `${s.id}/${name}`));
    if (failures.length > 0) {
      console.error(`errors or non-2xx answers in: ${failures.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    await stopChildren();
    await idp?.close();
  }
}

const MB = 1024 * 1024;

/** Memory of a server process: RSS (from /proc) before the load and after the run, and its V8 heap after the run. */
interface ProcessMemory {
  rssBeforeLoadMb: number;
  rssAfterRunMb: number;
  rssHighWaterMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

function printReport(summaries: ScenarioSummary[], processes: Record<string, ProcessMemory>, options: Options): void {
  console.log(`\nResults (medians over ${options.rounds} round(s) of ${options.duration} s, ${options.connections} connections; errors and non-2xx summed over the rounds)`);
  const header = `  ${pad('target', 26)}${pad('req/s', 9, true)}${pad('p50 ms', 9, true)}${pad('p99 ms', 9, true)}${pad('errors', 8, true)}${pad('non-2xx', 9, true)}${pad('peak RSS MB', 13, true)}${pad('CPU µs/req', 12, true)}`;
  for (const summary of summaries) {
    console.log(`\n${summary.id}) ${summary.title}`);
    console.log(header);
    for (const target of TARGETS) {
      const t = summary.targets[target]!;
      console.log(
        `  ${pad(t.label, 26)}${pad(fixed(t.medianRps), 9, true)}${pad(fixed(t.p50, 1), 9, true)}${pad(fixed(t.p99, 1), 9, true)}${pad(String(t.errors), 8, true)}${pad(String(t.non2xx), 9, true)}${pad(fixed(t.peakRssMb, 1), 13, true)}${pad(fixed(t.cpuUsPerRequest), 12, true)}`,
      );
    }
    const r = summary.ratios;
    console.log(`  BFF / node:http proxy = ${fixed(r.bffOverNodeProxy, 2)}   BFF / plain Hono proxy = ${fixed(r.bffOverHonoProxy, 2)}   BFF p99 / node:http proxy p99 = ${fixed(r.bffP99OverNodeProxyP99, 2)}`);
    if (summary.tokenEndpointHitsPerBffRun) console.log(`  token-endpoint hits at the dev IdP per BFF run: ${summary.tokenEndpointHitsPerBffRun.join(', ')} (expected 1 each)`);
  }
  console.log('\nServer processes (MB): RSS before the load, after the run, high-water mark; V8 heap used / total, external after the run');
  for (const [name, m] of Object.entries(processes)) {
    console.log(
      `  ${pad(name, 12)} RSS ${pad(fixed(m.rssBeforeLoadMb, 1), 6, true)} ${pad(fixed(m.rssAfterRunMb, 1), 6, true)} ${pad(fixed(m.rssHighWaterMb, 1), 6, true)}   heap ${fixed(m.heapUsedMb, 1)} / ${fixed(m.heapTotalMb, 1)}, external ${fixed(m.externalMb, 1)}`,
    );
  }
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  await stopChildren();
  process.exit(1);
});
