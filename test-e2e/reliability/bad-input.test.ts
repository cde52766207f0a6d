import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary, tempDir } from './harness.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 4;
const REQUESTS = 10_000;
const TOKEN = 'reliability-token';
const SEED = Number(process.env.RELIABILITY_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed (RELIABILITY_SEED). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const int = (max: number): number => Math.floor(rand() * max);
const chance = (p: number): boolean => rand() < p;
const randomText = (length: number, alphabet: string): string => Array.from({ length }, () => alphabet[int(alphabet.length)]).join('');
const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-_';
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
/** Random bytes, percent-encoded, so that node:http's client accepts them as a path. */
const encodedBytes = (length: number): string => Array.from({ length }, () => `%${int(256).toString(16).padStart(2, '0')}`).join('');

// Methods node's HTTP parser knows (the request reaches cluster2) and two it does not (the parser answers 400).
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'];
const METHODS = [...KNOWN_METHODS, 'GET', 'GET', 'POST', 'POST', 'HEAD', 'FOO', 'BREW'];

interface Probe {
  target: 'app' | 'monitor';
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** The statuses this request may get. */
  expect: number[];
  /** A request a client is entitled to have served (2xx expected); the rest are bad input. */
  valid: boolean;
  /**
   * Refused by the HTTP parser itself (unknown method, headers over 16 KiB): sent on a fresh
   * connection, so that the answer and close are the only traffic on it.
   */
  parserError: boolean;
}

function randomHeaders(): Record<string, string> {
  // Authorization first: the monitor reads only the first 100 headers (maxHeadersCount).
  const headers: Record<string, string> = {};
  const auth = int(5);
  if (auth === 1) headers.authorization = randomText(int(40), PRINTABLE).trim();
  if (auth === 2) headers.authorization = 'Bearer wrong-token';
  if (auth >= 3) headers.authorization = `Bearer ${TOKEN}`;
  // Now and then 150 short headers (over the monitor's maxHeadersCount, under node's 16 KiB limit).
  const many = chance(0.05);
  for (let i = many ? 150 : int(8); i > 0; i--) headers[`x-${randomText(1 + int(20), TOKEN_CHARS)}`] = randomText(int(many ? 40 : 200), PRINTABLE).trim();
  if (chance(0.02)) headers['x-huge'] = 'h'.repeat(20_000); // over node's 16 KiB header limit: 431
  return headers;
}

function randomBody(method: string): Buffer | undefined {
  if (method === 'HEAD' || chance(0.6)) return undefined;
  // Now and then over the monitor's 64 KiB limit.
  return Buffer.from(randomText(chance(0.05) ? 70 * 1024 + int(1024) : int(2048), PRINTABLE));
}

const ECV_ROUTES: Record<string, 'status' | 'live' | 'enable' | 'disable'> = { '': 'status', '/live': 'live', '/enable': 'enable', '/disable': 'disable' };

function ecvPath(): string {
  const base = pick([
    '/ecv',
    '/ecv',
    '/ecv/live',
    '/ecv/enable',
    '/ecv/disable',
    '/ecv/',
    '/ecvx',
    '/ECV',
    '/ecv//live',
    '/ecv/live/extra',
    '/ecv/..',
    '/ecv/../../etc/passwd',
    '/ecv/%2e%2e/%2e%2e/etc/passwd',
    '/ecv/%00',
    '/ecv/enable%00',
  ]);
  const tail = pick([
    '',
    '',
    '',
    `?${randomText(int(30), TOKEN_CHARS)}=${randomText(int(30), TOKEN_CHARS)}`,
    `/${encodedBytes(1 + int(40))}`,
    `#${randomText(5, TOKEN_CHARS)}`,
    `/${'a'.repeat(int(3) === 0 ? 20_000 : 200)}`,
  ]);
  return base + tail;
}

/** What a worker answers: ECV as documented (control on, monToken set), else the app's 404. */
function expectFromApp(method: string, target: string, headers: Record<string, string>): { expect: number[]; valid: boolean } {
  // The parser reads the method first, then the target and headers.
  if (!KNOWN_METHODS.includes(method)) return { expect: [400], valid: false };
  if (headers['x-huge'] || target.length > 16_000) return { expect: [431], valid: false };
  const cut = target.search(/[?#]/);
  const pathname = cut === -1 ? target : target.slice(0, cut);
  const route = pathname.startsWith('/ecv') ? ECV_ROUTES[pathname.slice(4)] : undefined;
  if (route === undefined) return { expect: [404], valid: false };
  if (route === 'enable' || route === 'disable') {
    if (method !== 'POST') return { expect: [405], valid: false };
    return expectAuthorized(headers) ?? { expect: [204], valid: true };
  }
  if (method !== 'GET' && method !== 'HEAD') return { expect: [405], valid: false };
  // 400 while disabled (the random control requests flip the switch).
  return route === 'live' ? { expect: [200], valid: true } : { expect: [200, 400], valid: true };
}

const MONITOR_GET = ['/', '/api/status', '/api/deps', '/api/logs', '/metrics'];

function monitorPath(): string {
  return pick([
    ...MONITOR_GET,
    ...MONITOR_GET,
    '/api/logs/app.log',
    `/api/logs/app.log?lines=${pick(['5', '1', '10000', '0', '10001', 'abc', '-1', '5&lines=6', ''])}`,
    '/api/logs/link.log',
    '/api/logs/..%2Fsecret.txt',
    '/api/logs/%2e%2e%2fsecret.txt',
    '/api/logs/..%5Csecret.txt',
    '/api/logs/../secret.txt',
    '/api/logs/%2Fetc%2Fpasswd',
    '/api/logs/%00',
    '/api/logs/%ZZ',
    '/api/logs/..',
    `/api/logs/${encodedBytes(1 + int(30))}`,
    '/api/ecv/enable',
    '/api/ecv/disable',
    '/api/reload',
    `/api/workers/${pick(['abc', '0', '1', '99999999999', '-5', '%00'])}/restart`,
    '/API/STATUS',
    '/api/status/',
    '//api/status',
    `/${randomText(int(50), TOKEN_CHARS)}`,
    `/${encodedBytes(1 + int(50))}`,
    `/api/${'x'.repeat(int(3) === 0 ? 20_000 : 100)}`,
  ]);
}

/** The monitor's routes (docs/monitor.md); `/api/events` (a stream) is never generated. */
const MONITOR_ROUTES: { segments: string[]; method: 'GET' | 'POST'; kind?: 'log' | 'ecv' | 'reload' | 'restart' }[] = [
  { segments: [''], method: 'GET' },
  { segments: ['api', 'status'], method: 'GET' },
  { segments: ['api', 'events'], method: 'GET' },
  { segments: ['api', 'deps'], method: 'GET' },
  { segments: ['api', 'logs'], method: 'GET' },
  { segments: ['api', 'logs', ':name'], method: 'GET', kind: 'log' },
  { segments: ['metrics'], method: 'GET' },
  { segments: ['api', 'ecv', 'enable'], method: 'POST', kind: 'ecv' },
  { segments: ['api', 'ecv', 'disable'], method: 'POST', kind: 'ecv' },
  { segments: ['api', 'reload'], method: 'POST', kind: 'reload' },
  { segments: ['api', 'workers', ':pid', 'restart'], method: 'POST', kind: 'restart' },
];

const PARSER_REFUSES_EXTRA_HEADERS = Number(process.versions.node.split('.')[0]) >= 22;
const overMaxHeadersCount = (headers: Record<string, string>): boolean => Object.keys(headers).length >= 100;

/** With monToken set: 401 without a bearer token, 403 with a wrong one, undefined with the right one. */
function expectAuthorized(headers: Record<string, string>): { expect: number[]; valid: boolean } | undefined {
  const auth = headers.authorization;
  if (auth === undefined || !/^Bearer\s+(\S+)\s*$/i.test(auth)) return { expect: [401], valid: false };
  if (auth !== `Bearer ${TOKEN}`) return { expect: [403], valid: false };
  return undefined;
}

/** What the monitor answers, per the documented table (413, 404, 405, 401/403 on every route, then the route's own answer). */
function expectFromMonitor(method: string, target: string, headers: Record<string, string>, body: Buffer | undefined): { expect: number[]; valid: boolean } {
  if (!KNOWN_METHODS.includes(method)) return { expect: [400], valid: false };
  if (headers['x-huge'] || target.length > 16_000) return { expect: [431], valid: false };
  // Over the monitor's maxHeadersCount (100), Node 20 drops the rest, Host (sent last)
  // included, and answers 400; from Node 22 the parser refuses the request: 431.
  if (overMaxHeadersCount(headers)) return { expect: [PARSER_REFUSES_EXTRA_HEADERS ? 431 : 400], valid: false };
  if ((body?.length ?? 0) > 64 * 1024) return { expect: [413], valid: false };
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
  let segments: string[];
  try {
    segments = rawPath
      .slice(1)
      .split('/')
      .map((s) => decodeURIComponent(s));
  } catch {
    return { expect: [400], valid: false };
  }
  const route = MONITOR_ROUTES.find(
    (r) => r.segments.length === segments.length && r.segments.every((expected, i) => expected.startsWith(':') || expected === segments[i]),
  );
  if (route === undefined) return { expect: [404], valid: false };
  const effective = method === 'HEAD' ? 'GET' : method;
  if (effective !== route.method) return { expect: [405], valid: false };
  const refused = expectAuthorized(headers);
  if (refused) return refused;
  if (route.method === 'POST') {
    if (route.kind === 'ecv') return { expect: [204], valid: true };
    // generate() never hands the token to reload, nor to restart with a live pid.
    return { expect: [404], valid: false };
  }
  if (route.kind === 'log') {
    const lines = query.get('lines');
    if (lines !== null && (!/^\d+$/.test(lines) || Number(lines) < 1 || Number(lines) > 10_000)) return { expect: [400], valid: false };
    return segments[2] === 'app.log' ? { expect: [200], valid: true } : { expect: [404], valid: false };
  }
  return { expect: [200], valid: true };
}

function generate(): Probe {
  const target = chance(0.5) ? 'app' : 'monitor';
  const method = pick(METHODS);
  let path = target === 'app' ? ecvPath() : monitorPath();
  const headers = randomHeaders();
  // Never hand the token to the actions that would restart workers: this test wants the same pids throughout.
  if (target === 'monitor' && (path.startsWith('/api/reload') || path.startsWith('/api/workers/')) && headers.authorization === `Bearer ${TOKEN}`) {
    headers.authorization = 'Bearer wrong-token';
  }
  if (target === 'monitor' && path.includes('/restart') && /^\/api\/workers\/[1-9]\d{0,9}\/restart/.test(path)) path = '/api/workers/abc/restart';
  const parserError = !KNOWN_METHODS.includes(method) || headers['x-huge'] !== undefined || path.length > 16_000;
  let body = randomBody(method);
  // The parser refuses these before the body: the server answers and closes with the rest of a
  // large body unread, and TCP resets the client's upload — whatever the server. Keep them small.
  // The same for a monitor request the parser refuses for its header count (sent on a keep-alive
  // socket all the same: an idle one gets the answer as a fresh one would).
  const refusedEarly = parserError || (target === 'monitor' && PARSER_REFUSES_EXTRA_HEADERS && overMaxHeadersCount(headers));
  if (refusedEarly && body) body = body.subarray(0, 2048);
  const { expect: statuses, valid } = target === 'app' ? expectFromApp(method, path, headers) : expectFromMonitor(method, path, headers, body);
  return { target, method, path, headers, body, expect: statuses, valid, parserError };
}

interface Result {
  probe: Probe;
  status?: number;
  error?: string;
  body: string;
}

function send(probe: Probe, port: number, agent: http.Agent): Promise<Result> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...probe.headers };
    if (probe.body) headers['content-length'] = probe.body.length;
    const req = http.request({ host: '127.0.0.1', port, method: probe.method, path: probe.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ probe, status: res.statusCode, body: Buffer.concat(chunks).toString('latin1') }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ probe, status: res.statusCode, error: error.code ?? error.message, body: '' }));
    });
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('no answer'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ probe, error: error.code ?? error.message, body: '' }));
    // A 413 or 431 may come back before the whole body went out; the server then closes.
    req.end(probe.body);
  });
}

/**
 * Raw bytes on a raw socket: what an HTTP client library would never send. `P` stands for a
 * path the target serves (the app's /ecv/live, the monitor's /api/status).
 */
const RAW_CASES: { name: string; bytes: string | Buffer; valid?: boolean }[] = [
  { name: 'garbage line', bytes: 'GARBAGE\r\n\r\n' },
  { name: 'binary (a TLS hello)', bytes: Buffer.from([0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]) },
  { name: 'HTTP/9.9', bytes: 'GET P HTTP/9.9\r\nHost: x\r\n\r\n' },
  { name: 'lower-case method', bytes: 'get P HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'NUL in target', bytes: 'GET P\0 HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'no Host', bytes: 'GET P HTTP/1.1\r\n\r\n' },
  { name: 'bad Content-Length', bytes: 'POST P HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' },
  { name: 'Content-Length and chunked', bytes: 'POST P HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
  { name: 'header without colon', bytes: 'GET P HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n' },
  { name: 'space before colon', bytes: 'GET P HTTP/1.1\r\nHost : x\r\n\r\n' },
  { name: 'obs-fold header', bytes: 'GET P HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n' },
  { name: 'huge header', bytes: `GET P HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n` },
  { name: 'HEAD with a huge header', bytes: `HEAD P HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n` },
  { name: 'unknown method', bytes: 'FOO P HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'CONNECT', bytes: 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n' },
  { name: 'valid, then garbage pipelined on the same socket', bytes: 'GET P HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n' },
  { name: 'HTTP/1.0 GET (valid)', bytes: 'GET P HTTP/1.0\r\n\r\n', valid: true },
];

interface RawResult {
  name: string;
  statuses: number[];
  reset: boolean;
  text: string;
}

function sendRaw(port: number, bytes: string | Buffer): Promise<Omit<RawResult, 'name'>> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let reset = false;
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => (reset = error.code === 'ECONNRESET'));
    socket.on('close', () => resolve({ statuses: [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])), reset, text: received }));
    socket.write(bytes);
    // The server answers and closes; a socket it leaves open (CONNECT) is ended by us after a while.
    setTimeout(() => socket.end(), 1000).unref();
  });
}

describe('bad input to a running cluster', () => {
  it(`${REQUESTS} random requests to ECV and the monitor, plus malformed HTTP: no crash, no restart, 4xx for bad input, nothing served from outside the logs directory`, async () => {
    const dir = tempDir('bad-input');
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    const secret = `SECRET-${SEED}-${process.pid}`;
    fs.writeFileSync(path.join(dir, 'secret.txt'), `${secret}\n`);
    fs.writeFileSync(path.join(logs, 'app.log'), Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(logs, 'link.log'));

    const f = new Fixture({ noWorkers: NO_WORKERS, monitor: true, monPort: 0, monHost: '127.0.0.1', monToken: TOKEN, logs, ecv: { control: true } });
    running.push(f);
    const ready = await f.ready();
    const port = ready.ports[0]!;
    const monPort = ready.monitor!.port;
    const pids = f.workerPids().sort();
    const forked = f.events('forked').length;

    const probes = Array.from({ length: REQUESTS }, generate);
    const agents = { app: new http.Agent({ keepAlive: true, maxSockets: 8 }), monitor: new http.Agent({ keepAlive: true, maxSockets: 8 }) };
    const fresh = new http.Agent({ keepAlive: false });
    const results: Result[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < probes.length) {
          const probe = probes[next++]!;
          results.push(await send(probe, probe.target === 'app' ? port : monPort, probe.parserError ? fresh : agents[probe.target]));
        }
      }),
    );
    agents.app.destroy();
    agents.monitor.destroy();
    fresh.destroy();
    const raw: RawResult[] = [];
    for (const target of [port, monPort]) {
      const served = target === port ? '/ecv/live' : '/api/status';
      for (const c of RAW_CASES) {
        let bytes = typeof c.bytes === 'string' ? c.bytes.replace(' P', ` ${served}`) : c.bytes;
        // Every monitor route needs the token: the valid requests carry it, so that only the bytes are at fault.
        if (target === monPort && typeof bytes === 'string') bytes = bytes.replace(/^([^\r\n]*\r\n)/, `$1Authorization: Bearer ${TOKEN}\r\n`);
        raw.push({ name: `${target === port ? 'app' : 'monitor'}: ${c.name}`, ...(await sendRaw(target, bytes)) });
      }
    }

    // Every answer is the one the docs prescribe (4xx for bad input, 2xx/204 for the valid requests).
    const wrong = results.filter((r) => r.status === undefined || !r.probe.expect.includes(r.status));
    const describe = (r: Result) =>
      `${r.probe.target} ${r.probe.method} ${r.probe.path.slice(0, 80)} auth=${r.probe.headers.authorization ?? '-'} body=${r.probe.body?.length ?? 0} → ${r.status ?? r.error} (wanted ${r.probe.expect.join('/')}) ${r.body.slice(0, 100)}`;
    expect(wrong.slice(0, 20).map(describe)).toEqual([]);
    for (const r of results) {
      if (r.probe.valid) expect(r.status! < 300 || (r.probe.target === 'app' && r.status === 400)).toBe(true);
      else expect(r.status! >= 400 && r.status! < 500).toBe(true);
    }
    // Raw malformed input: a 4xx and a close (the valid one: its 200); CONNECT has no listener and is just closed.
    for (const r of raw) {
      const valid = RAW_CASES.find((c) => r.name.endsWith(c.name))!.valid;
      if (valid) expect(r.statuses, r.name).toEqual([200]);
      else if (r.name.endsWith('CONNECT')) expect(r.statuses, r.name).toEqual([]);
      // The parser reaches the garbage before the (asynchronous) ECV answer is written: the 400 may
      // come alone, and the connection is closed either way.
      else if (r.name.endsWith('on the same socket')) expect([[200, 400], [400]], `${r.name}: ${r.statuses.join(',')}`).toContainEqual(r.statuses);
      else expect(r.statuses.length === 1 && r.statuses[0]! >= 400 && r.statuses[0]! < 500, `${r.name}: ${r.statuses.join(',')}`).toBe(true);
      // An answer to HEAD has no body (a JSON error there broke HEAD clients of the monitor).
      if (r.name.includes('HEAD')) expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), r.name).toBe('');
    }
    // Nothing from outside the logs directory, however asked for.
    const leaks = results.filter((r) => r.body.includes(secret));
    expect(leaks.map(describe)).toEqual([]);
    const traversals = results.filter((r) => r.probe.target === 'monitor' && /\/api\/logs\/.*(\.\.|%2F|%5C|link\.log|passwd)/i.test(r.probe.path));
    expect(traversals.length).toBeGreaterThan(50);
    for (const r of traversals) expect([400, 401, 403, 404, 405, 413, 431]).toContain(r.status);

    // No crash, no restart: the same workers, no deaths, the master alive and still serving.
    expect(f.events('died')).toEqual([]);
    expect(f.events('forked')).toHaveLength(forked);
    expect(f.workerPids().sort()).toEqual(pids);
    expect(f.exitCode).toBeUndefined();
    const live = await send(
      { target: 'app', method: 'GET', path: '/ecv/live', headers: {}, body: undefined, expect: [200], valid: true, parserError: false },
      port,
      new http.Agent(),
    );
    expect(live.status).toBe(200);
    const status = await send(
      {
        target: 'monitor',
        method: 'GET',
        path: '/api/status',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: undefined,
        expect: [200],
        valid: true,
        parserError: false,
      },
      monPort,
      new http.Agent(),
    );
    expect(status.status).toBe(200);
    expect((JSON.parse(status.body) as { workers: { pid: number }[] }).workers.map((w) => w.pid).sort()).toEqual(pids);

    const valid = results.filter((r) => r.probe.valid).length;
    const byStatus: Record<string, number> = {};
    for (const r of results) byStatus[r.status ?? r.error!] = (byStatus[r.status ?? r.error!] ?? 0) + 1;
    recordSummary({
      scenario: '8. bad input (ECV + monitor + raw HTTP)',
      sent: results.length + raw.length,
      succeeded: results.length - wrong.length + raw.length,
      failed: wrong.length,
      notes: `seed ${SEED}; ${valid} valid, ${results.length - valid} bad; statuses ${JSON.stringify(byStatus)}; ${raw.length} raw; ${traversals.length} traversal attempts, 0 leaked; 0 deaths`,
    });
  });
});
