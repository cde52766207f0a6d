// cluster2 behind a real HAProxy: two instances (A and B, a master and 2 workers each) in one
// roundrobin backend checked with `GET /ecv`, continuous keep-alive and Connection: close load
// through HAProxy, and A taken out of rotation in the ways operators do it. Every request must
// succeed: HAProxy here neither retries nor redispatches, so a dropped request would show.
import { afterEach, describe, expect, it } from 'vitest';
import { HAProxy } from './haproxy.js';
import { request, until } from '../support/fixture.js';
import { Instance } from './instance.js';
import { Load, summarize, succeeded, type Outcome, type Summary } from './load.js';

/** HAProxy checks every INTER ms; FALL failed checks mark a server DOWN, RISE good ones UP. */
const INTER = 200;
const FALL = 2;
const RISE = 2;
/**
 * The rule for `shutdownDelay`: HAProxy sees the first DISABLED answer at most one INTER after
 * the drain starts and marks the server DOWN FALL - 1 intervals later, so it notices within
 * FALL × INTER plus the check's own round trip. The listener must stay open that long, with a
 * margin for a loaded machine: shutdownDelay ≥ FALL × INTER + margin; here (FALL + 2) × INTER.
 */
const SHUTDOWN_DELAY = (FALL + 2) * INTER;
/** Before a scenario ends, at least this many requests are sent after its last change, over at least this long. */
const AFTER = 300;
const AFTER_MS = 1500;

const instances: Instance[] = [];
const proxies: HAProxy[] = [];
const loads: Load[] = [];
afterEach(async () => {
  for (const load of loads.splice(0)) await load.stop();
  for (const haproxy of proxies.splice(0)) await haproxy.stop();
  for (const instance of instances.splice(0)) instance.kill();
});

async function setup(options: object = {}, disableOn404 = false): Promise<{ a: Instance; b: Instance; haproxy: HAProxy; load: Load }> {
  const a = new Instance('A', options);
  const b = new Instance('B', options);
  instances.push(a, b);
  await Promise.all([a.ready(), b.ready()]);
  const haproxy = await HAProxy.start({
    servers: [
      { name: 'A', port: a.port },
      { name: 'B', port: b.port },
    ],
    inter: INTER,
    fall: FALL,
    rise: RISE,
    disableOn404,
  });
  proxies.push(haproxy);
  const load = new Load({ port: haproxy.port, maxDurationMs: 25_000 });
  loads.push(load);
  // Both instances take traffic before anything changes.
  await until(
    () => count(load.outcomes, 'A') >= 100 && count(load.outcomes, 'B') >= 100,
    10_000,
    'load to reach A and B',
    () => JSON.stringify(summarize(load.outcomes)),
  );
  return { a, b, haproxy, load };
}

/**
 * 0 failed, every request answered. On failure the message carries HAProxy's own log (errors and
 * server state changes, with their reasons): which server went down, and why, is the diagnosis.
 */
function expectNoneFailed(summary: Summary, haproxy: HAProxy): void {
  const log = haproxy.output
    .split('\n')
    .filter((line) => /Server app\/|NOSRV|backend app/.test(line))
    .slice(-30)
    .join('\n');
  expect(summary.failed, `HAProxy's log:\n${log}`).toBe(0);
  expect(summary.succeeded).toBe(summary.sent);
}

function count(outcomes: Outcome[], instance: string): number {
  return outcomes.filter((o) => succeeded(o) && o.instance === instance).length;
}

/** Waits until `n` requests sent after `time` have completed, and `AFTER_MS` have passed. */
async function completedSince(load: Load, time: number, n = AFTER): Promise<void> {
  await until(
    () => load.since(time).length >= n && Date.now() - time >= AFTER_MS,
    15_000,
    `${n} requests after the change`,
    () => JSON.stringify(summarize(load.outcomes)),
  );
}

/** HAProxy's server-side connections to `server`: opened, and reused while idle (http-reuse safe). */
async function serverConnections(haproxy: HAProxy, server: string): Promise<string> {
  const stat = (await haproxy.stats())[server]!;
  return `${stat.connect} opened / ${stat.reuse} reused`;
}

function table(scenario: string, summary: Summary, measured: Record<string, number | string>): void {
  const rows = [
    ['scenario', scenario],
    ['sent', summary.sent],
    ['succeeded', summary.succeeded],
    ['failed', summary.failed],
    ['from A / B', `${summary.byInstance.A ?? 0} / ${summary.byInstance.B ?? 0}`],
    ...Object.entries(measured),
    ...Object.entries(summary.failures).map(([kind, n]) => [`failure: ${kind}`, n]),
  ];
  console.log(rows.map(([k, v]) => `  ${String(k).padEnd(34)} ${v}`).join('\n'));
}

function lastStartFrom(outcomes: Outcome[], instance: string): number {
  return Math.max(...outcomes.filter((o) => o.instance === instance).map((o) => o.start));
}

describe('cluster2 behind HAProxy (option httpchk GET /ecv, inter 200 fall 2 rise 2, no retries)', () => {
  it('POST /ecv/disable on A: HAProxy marks A DOWN within a few checks, every later request goes to B, 0 failed', async () => {
    const { a, haproxy, load } = await setup();
    // Through the proxy the control routes are denied (cluster2 would see a loopback client).
    expect((await request(haproxy.port, '/ecv/disable', { method: 'POST' })).status).toBe(403);
    expect((await request(haproxy.port, '/ecv?x=1')).status).toBe(403);
    expect((await haproxy.stats()).A!.status).toBe('UP');
    const disableAt = Date.now();
    expect((await a.request('/ecv/disable', 'POST')).status).toBe(204);
    const downAt = await haproxy.waitForStatus('A', 'DOWN');
    await completedSince(load, downAt);
    const summary = await load.stop();
    const after = load.since(downAt);

    table('1. disable A', summary, {
      'disable → A DOWN (ms)': downAt - disableAt,
      'disable → last request sent to A (ms)': lastStartFrom(load.outcomes, 'A') - disableAt,
      'requests after DOWN (all B)': after.length,
    });
    expectNoneFailed(summary, haproxy);
    expect(downAt - disableAt).toBeLessThan(FALL * INTER + 5 * INTER);
    expect(after.length).toBeGreaterThanOrEqual(AFTER);
    expect(summarize(after).byInstance).toEqual({ B: after.length });
  });

  it('disable A, wait until HAProxy marks it DOWN, then a graceful shutdown of A: 0 failed', async () => {
    const { a, haproxy, load } = await setup();
    const disableAt = Date.now();
    expect((await a.request('/ecv/disable', 'POST')).status).toBe(204);
    const downAt = await haproxy.waitForStatus('A', 'DOWN');
    a.send('shutdown');
    await a.exited;
    const exitAt = Date.now();
    await completedSince(load, exitAt);
    const summary = await load.stop();

    table('2. disable, DOWN, shutdown A', summary, {
      'disable → A DOWN (ms)': downAt - disableAt,
      'DOWN → A exited (ms)': exitAt - downAt,
      'requests after A exited (all B)': load.since(exitAt).length,
      'HAProxy → A connections': await serverConnections(haproxy, 'A'),
    });
    expect(a.exitCode).toBe(0);
    expectNoneFailed(summary, haproxy);
    expect(summarize(load.since(downAt)).byInstance).toEqual({ B: load.since(downAt).length });
  });

  it(`plain graceful shutdown of A in rotation, shutdownDelay ${SHUTDOWN_DELAY} ms ≥ fall × inter + margin: HAProxy notices first, 0 failed`, async () => {
    const { a, haproxy, load } = await setup({ shutdownDelay: SHUTDOWN_DELAY });
    const shutdownAt = Date.now();
    a.send('shutdown');
    const downAt = await haproxy.waitForStatus('A', 'DOWN');
    await a.exited;
    const exitAt = Date.now();
    await completedSince(load, exitAt);
    const summary = await load.stop();
    const lastToA = lastStartFrom(load.outcomes, 'A');

    table('3. shutdown A (shutdownDelay)', summary, {
      'shutdownDelay (ms)': SHUTDOWN_DELAY,
      'shutdown → A DOWN (ms)': downAt - shutdownAt,
      'shutdown → last request sent to A (ms)': lastToA - shutdownAt,
      'shutdown → A exited (ms)': exitAt - shutdownAt,
      'HAProxy → A connections': await serverConnections(haproxy, 'A'),
    });
    expect(a.exitCode).toBe(0);
    expectNoneFailed(summary, haproxy);
    // The load balancer noticed while A still listened.
    expect(downAt - shutdownAt).toBeLessThan(SHUTDOWN_DELAY);
    expect(exitAt - shutdownAt).toBeGreaterThanOrEqual(SHUTDOWN_DELAY);
    expect(summarize(load.since(downAt)).byInstance).toEqual({ B: load.since(downAt).length });
  });

  it('ecv.disabledStatus 404 with http-check disable-on-404: disabling drains A (NOLB), enabling brings it back, 0 failed', async () => {
    const { a, haproxy, load } = await setup({ ecv: { disabledStatus: 404 } }, true);
    const disableAt = Date.now();
    expect((await a.request('/ecv/disable', 'POST')).status).toBe(204);
    const nolbAt = await haproxy.waitForStatus('A', 'NOLB');
    await completedSince(load, nolbAt);
    const drained = load.since(nolbAt);
    expect(drained.length).toBeGreaterThanOrEqual(AFTER);
    expect(summarize(drained).byInstance).toEqual({ B: drained.length });

    const enableAt = Date.now();
    expect((await a.request('/ecv/enable', 'POST')).status).toBe(204);
    const upAt = await haproxy.waitForStatus('A', 'UP');
    await until(() => count(load.since(upAt), 'A') >= 100, 10_000, 'A to take traffic again');
    const summary = await load.stop();
    const back = summarize(load.since(upAt));

    table('4. disable-on-404: drain and back', summary, {
      'disable → A NOLB (ms)': nolbAt - disableAt,
      'requests while NOLB (all B)': drained.length,
      'enable → A UP (ms)': upAt - enableAt,
      'after UP: from A / B': `${back.byInstance.A ?? 0} / ${back.byInstance.B ?? 0}`,
    });
    expectNoneFailed(summary, haproxy);
    expect(back.byInstance.A).toBeGreaterThanOrEqual(100);
  });

  it('three rolling reloads of A while in rotation, with HAProxy reusing idle server connections: 0 failed', async () => {
    // No ECV change: the successor listens before the old worker drains, and the old worker ends
    // HAProxy's idle keep-alive connections after idleGrace (FIN, or Connection: close on a request
    // already on its way), the race that makes other managers drop requests on reload.
    const { a, haproxy, load } = await setup();
    const pidsBefore = a.events('listening').map((m) => m.args![0]);
    const reloadAt = Date.now();
    for (let i = 1; i <= 3; i++) expect((await a.call('reload', 20_000)).event).toBe('called');
    const doneAt = Date.now();
    await completedSince(load, doneAt);
    const summary = await load.stop();
    const stat = (await haproxy.stats()).A!;

    table('5. 3 rolling reloads of A', summary, {
      '3 reloads took (ms)': doneAt - reloadAt,
      'A workers replaced': a.events('died').length,
      'HAProxy → A connections': `${stat.connect} opened / ${stat.reuse} reused`,
    });
    expect(
      a
        .events('died')
        .map((m) => m.args![0])
        .sort(),
    ).toEqual(expect.arrayContaining(pidsBefore.sort()));
    expect(a.events('died')).toHaveLength(6);
    expect(stat.status).toBe('UP');
    // Server-side keep-alive was in play: the race had its chance.
    expect(stat.reuse).toBeGreaterThan(100);
    expectNoneFailed(summary, haproxy);
    expect(summarize(load.since(doneAt)).byInstance.A).toBeGreaterThan(0);
  });

  it('control: without shutdownDelay, shutting A down while in rotation loses requests, and this harness sees them', async () => {
    // Why shutdownDelay exists, and proof that the load driver and HAProxy config report drops:
    // A closes its listener at once and HAProxy keeps sending to it until its checks fail.
    const { a, haproxy, load } = await setup();
    const shutdownAt = Date.now();
    a.send('shutdown');
    const downAt = await haproxy.waitForStatus('A', 'DOWN');
    await a.exited;
    await completedSince(load, downAt);
    const summary = await load.stop();
    const failures = load.outcomes.filter((o) => !succeeded(o));

    table('6. control: shutdown A, shutdownDelay 0', summary, { 'shutdown → A DOWN (ms)': downAt - shutdownAt });
    expect(summary.failed).toBeGreaterThan(0);
    // HAProxy answered each of them (503: connection refused, 502: closed before a response).
    expect(new Set(failures.map((o) => o.status))).toSatisfy((codes: Set<number | undefined>) => [...codes].every((c) => c === 502 || c === 503));
    // Only requests sent before HAProxy marked A DOWN were lost.
    expect(failures.every((o) => o.start <= downAt)).toBe(true);
  });
});
