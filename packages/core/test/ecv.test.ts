import { execFileSync } from 'node:child_process';
import os from 'node:os';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, request, until, type Answer } from './helpers.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

function start(options: object, env?: Record<string, string>): Fixture {
  const fixture = new Fixture('ecv-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, pids: false, ...options }, env);
  running.push(fixture);
  return fixture;
}

type EcvStatus = 'AVAILABLE' | 'DISABLED' | 'WARNING';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The seed's body, exactly: every field in order, not URL-encoded. */
function bodyPattern(status: EcvStatus, port: number): RegExp {
  const serve = status === 'AVAILABLE';
  return new RegExp(`^status=${status}&ServeTraffic=${serve}&ip=127\\.0\\.0\\.1&hostname=${escapeRegExp(os.hostname())}&port=${port}&time=(.+)$`);
}

/** Asserts one ECV answer: status code, body, `time` close to now, the seed's headers. */
function expectEcv(answer: Answer, code: number, status: EcvStatus, port: number): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status: code, body: expect.stringMatching(bodyPattern(status, port)) });
  const time = bodyPattern(status, port).exec(answer.body)![1]!;
  expect(time).toBe(new Date(Date.parse(time)).toString());
  // Date#toString() has whole seconds.
  expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(3000);
  expect(answer.headers['content-type']).toBe('text/plain');
  expect(answer.headers['x-powered-by']).toBe('Cluster2');
  expect(answer.headers['cache-control']).toBe('no-cache');
  const since = answer.headers.since as string;
  expect(since).toBe(new Date(Date.parse(since)).toString());
  expect(Date.parse(since)).toBeLessThanOrEqual(Date.now());
}

/** `n` GETs, one after another, each on a fresh connection (agent: false sends Connection: close). */
async function fresh(port: number, path: string, n = 20): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) answers.push(await request(port, path));
  return answers;
}

function expectAll(answers: Answer[], code: number, status: EcvStatus, port: number): void {
  expect(answers.map((a) => `${a.status} ${a.body.split('&')[0]}`)).toEqual(answers.map(() => `${code} status=${status}`));
  for (const answer of answers) expectEcv(answer, code, status, port);
}

/** `since` changes with the switch; Date#toString() has whole seconds, so let the clock tick first. */
async function tickPast(since: string): Promise<void> {
  await until(() => new Date().toString() !== since, 2000, 'the clock to pass the last ECV change');
}

async function workerState(port: number, pid: number): Promise<{ pid: number; ecv: { enabled: boolean; since: string } }> {
  let state: { pid: number; ecv: { enabled: boolean; since: string } } | undefined;
  await until(
    async () => {
      state = JSON.parse((await request(port, '/state')).body);
      return state!.pid === pid;
    },
    10_000,
    `worker ${pid} to answer`,
  );
  return state!;
}

describe('GET /ecv while enabled and healthy', () => {
  it('answers 200 with the seed body and headers; HEAD, a query string, /live and the app are served alike', async () => {
    const f = start({ noWorkers: 2 });
    const port = await f.ready();

    const answers = await fresh(port, '/ecv');
    expectAll(answers, 200, 'AVAILABLE', port);
    // `since` is the master's start until the first switch: the same in every worker.
    expect(new Set(answers.map((a) => a.headers.since)).size).toBe(1);
    const since = answers[0]!.headers.since as string;
    expect(Date.parse(since)).toBeLessThanOrEqual(f.events('ready')[0]!.time);
    expect(Date.parse(since)).toBeGreaterThan(Date.now() - 60_000);

    const head = await request(port, '/ecv', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe('text/plain');
    expect(head.headers['x-powered-by']).toBe('Cluster2');
    expect(head.headers['cache-control']).toBe('no-cache');
    expect(head.headers.since).toBe(since);

    expectEcv(await request(port, '/ecv?x=1'), 200, 'AVAILABLE', port);

    const live = await request(port, '/ecv/live');
    expect(live.status).toBe(200);
    expect(live.headers['x-powered-by']).toBe('Cluster2');
    expect(live.headers['cache-control']).toBe('no-cache');

    const app = await request(port, '/');
    expect(app.status).toBe(200);
    expect(app.body).toMatch(/^hello from \d+$/);
    // A path that only starts like the ECV path belongs to the app.
    expect((await request(port, '/ecvx')).body).toMatch(/^hello from \d+$/);
  });

  it('answers wrong methods with 405 and Allow', async () => {
    const f = start({ noWorkers: 1, ecv: { control: true } });
    const port = await f.ready();
    for (const [method, path, allow] of [
      ['PUT', '/ecv', 'GET, HEAD'],
      ['POST', '/ecv', 'GET, HEAD'],
      ['DELETE', '/ecv/live', 'GET, HEAD'],
      ['GET', '/ecv/disable', 'POST'],
      ['GET', '/ecv/enable', 'POST'],
    ] as const) {
      const answer = await request(port, path, { method });
      expect({ method, path, status: answer.status, allow: answer.headers.allow }).toEqual({ method, path, status: 405, allow });
    }
    // None of them changed the switch.
    expectEcv(await request(port, '/ecv'), 200, 'AVAILABLE', port);
  });
});

describe('disable and enable', () => {
  it('POST /ecv/disable: 204, every worker then answers 400 DISABLED, also a respawned one; POST /ecv/enable brings all back', async () => {
    const f = start({ noWorkers: 2, ecv: { control: true } });
    const port = await f.ready();
    const initialSince = (await request(port, '/ecv')).headers.since as string;
    await tickPast(initialSince);

    const disabled = await request(port, '/ecv/disable', { method: 'POST' });
    expect(disabled.status).toBe(204);
    expect(disabled.body).toBe('');
    expect(disabled.headers['x-powered-by']).toBe('Cluster2');
    expect(disabled.headers['cache-control']).toBe('no-cache');
    // Applied on every worker before the 204: no waiting here.
    const afterDisable = await fresh(port, '/ecv');
    expectAll(afterDisable, 400, 'DISABLED', port);
    const disabledSince = afterDisable[0]!.headers.since as string;
    expect(disabledSince).not.toBe(initialSince);
    expect(Date.parse(disabledSince)).toBeGreaterThan(Date.parse(initialSince));
    expect(new Set(afterDisable.map((a) => a.headers.since))).toEqual(new Set([disabledSince]));
    await f.waitFor('disabled');
    for (const pid of f.workerPids()) expect((await workerState(port, pid)).ecv).toEqual({ enabled: false, since: disabledSince });

    // Disabling again changes nothing: still 204, no second event, same `since`.
    expect((await request(port, '/ecv/disable', { method: 'POST' })).status).toBe(204);
    expect((await request(port, '/ecv')).headers.since).toBe(disabledSince);

    // A worker forked later starts disabled.
    const [victim] = f.workerPids();
    process.kill(victim!, 'SIGKILL');
    await f.waitFor('listening', { count: 3 });
    const successor = f.events('listening')[2]!.args![0] as number;
    expect(f.workerPids()).toHaveLength(2);
    expect(f.workerPids()).toContain(successor);
    expect(f.workerPids()).not.toContain(victim);
    expect((await workerState(port, successor)).ecv).toEqual({ enabled: false, since: disabledSince });
    expectAll(await fresh(port, '/ecv'), 400, 'DISABLED', port);

    await tickPast(disabledSince);
    const enabled = await request(port, '/ecv/enable', { method: 'POST' });
    expect(enabled.status).toBe(204);
    expect(enabled.headers['x-powered-by']).toBe('Cluster2');
    const afterEnable = await fresh(port, '/ecv');
    expectAll(afterEnable, 200, 'AVAILABLE', port);
    expect(Date.parse(afterEnable[0]!.headers.since as string)).toBeGreaterThan(Date.parse(disabledSince));
    await f.waitFor('enabled');
    expect(f.events('disabled')).toHaveLength(1);
    expect(f.events('enabled')).toHaveLength(1);
  });

  // Regression: a worker forked just before a disable could not hear the master's push yet (no IPC
  // listener while it boots); the push was lost, the disable waited 2 s for its reply, and the
  // worker then served AVAILABLE while the rest of the cluster said DISABLED.
  it('a worker still booting when the switch flips starts disabled, and the disable does not wait for it', async () => {
    const f = start({ noWorkers: 2 }, { FIXTURE_BOOT_DELAY: '500' });
    const port = await f.ready();
    const [victim] = f.workerPids();
    process.kill(victim!, 'SIGKILL');
    const successor = (await f.waitFor('forked', { count: 3 })).args![0] as number;
    const calledAt = Date.now();
    f.send('disable');
    await f.waitFor('called');
    expect(Date.now() - calledAt).toBeLessThan(1000);
    expect(f.events('listening')).toHaveLength(2);
    await f.waitFor('listening', { count: 3 });
    const disabledSince = (await request(port, '/ecv')).headers.since as string;
    expect((await workerState(port, successor)).ecv).toEqual({ enabled: false, since: disabledSince });
    expectAll(await fresh(port, '/ecv'), 400, 'DISABLED', port);
  });

  it('c.disable() and c.enable() in the master switch every worker; control: false leaves POST routes 404', async () => {
    const f = start({ noWorkers: 2 });
    const port = await f.ready();
    for (const path of ['/ecv/disable', '/ecv/enable']) {
      const answer = await request(port, path, { method: 'POST' });
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
    }
    expectAll(await fresh(port, '/ecv', 4), 200, 'AVAILABLE', port);
    expect(f.events('disabled')).toHaveLength(0);

    expect((await f.call('disable')).event).toBe('called');
    expectAll(await fresh(port, '/ecv'), 400, 'DISABLED', port);
    await f.waitFor('disabled');

    expect((await f.call('enable')).event).toBe('called');
    expectAll(await fresh(port, '/ecv'), 200, 'AVAILABLE', port);
    await f.waitFor('enabled');
  });

  it('disabledStatus: 503 answers DISABLED with 503; /ecv/live stays 200', async () => {
    const f = start({ noWorkers: 2, ecv: { control: true, disabledStatus: 503 } });
    const port = await f.ready();
    expect((await request(port, '/ecv/disable', { method: 'POST' })).status).toBe(204);
    expectAll(await fresh(port, '/ecv'), 503, 'DISABLED', port);
    const lives = await fresh(port, '/ecv/live', 4);
    expect(lives.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    const head = await request(port, '/ecv', { method: 'HEAD' });
    expect({ status: head.status, body: head.body }).toEqual({ status: 503, body: '' });
  });
});

/**
 * Which of node:crypto, node:https and node:tls a bare script that imports node:http has loaded
 * under this Node: none on Node 20; from Node 22 node:http brings node:crypto and node:tls itself.
 */
function loadedWithNodeHttp(): { crypto: boolean; https: boolean; tls: boolean } {
  const script = `import 'node:http';
const loaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);
console.log(JSON.stringify({ crypto: loaded('crypto'), https: loaded('https'), tls: loaded('tls') }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('what a worker loads', () => {
  it('node:crypto only once a control request checks a token, node:https and node:tls not at all, with the monitor on in the master', async () => {
    // Worker start-up is respawn and reload time (docs/design.md, design notes). What node:http loads
    // anyway is not cluster2's to save.
    const baseline = loadedWithNodeHttp();
    const f = start({ noWorkers: 1, monitor: true, monPort: 0, monToken: 's3cret', ecv: { control: true } });
    const port = await f.ready();
    expectEcv(await request(port, '/ecv'), 200, 'AVAILABLE', port);
    expect(JSON.parse((await request(port, '/modules')).body)).toEqual(baseline);

    const disable = await request(port, '/ecv/disable', { method: 'POST', headers: { authorization: 'Bearer s3cret' } });
    expect(disable.status).toBe(204);
    expect(JSON.parse((await request(port, '/modules')).body)).toEqual({ ...baseline, crypto: true });
  });
});

describe('validator and monitor', () => {
  it.each(['fail', 'throw', 'reject'])('validator %s → 500 WARNING; /ecv/live stays 200', async (mode) => {
    const f = start({ noWorkers: 2 }, { FIXTURE_VALIDATOR: mode });
    const port = await f.ready();
    expectAll(await fresh(port, '/ecv', 6), 500, 'WARNING', port);
    expect((await request(port, '/ecv/live')).status).toBe(200);
  });

  it('validator ok → 200 AVAILABLE; disabled wins over it', async () => {
    const f = start({ noWorkers: 1, ecv: { control: true } }, { FIXTURE_VALIDATOR: 'ok' });
    const port = await f.ready();
    expectEcv(await request(port, '/ecv'), 200, 'AVAILABLE', port);
    await request(port, '/ecv/disable', { method: 'POST' });
    expectEcv(await request(port, '/ecv'), 400, 'DISABLED', port);
  });

  it('a validator that never settles is cut at ecv.timeout: 500 WARNING in well under 1.5 s', async () => {
    const f = start({ noWorkers: 2, ecv: { timeout: 300 } }, { FIXTURE_VALIDATOR: 'hang' });
    const port = await f.ready();
    for (let i = 0; i < 4; i++) {
      const startedAt = Date.now();
      const answer = await request(port, '/ecv');
      const took = Date.now() - startedAt;
      expectEcv(answer, 500, 'WARNING', port);
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(1500);
    }
  });

  it('ecv.monitor: a failing app route → 500 WARNING', async () => {
    const f = start({ noWorkers: 2, ecv: { monitor: '/health' } }, { FIXTURE_HEALTH: 'bad' });
    const port = await f.ready();
    expect((await request(port, '/health')).status).toBe(500);
    expectAll(await fresh(port, '/ecv', 6), 500, 'WARNING', port);
    expect((await request(port, '/ecv/live')).status).toBe(200);
  });

  it('ecv.monitor: a healthy app route → 200 AVAILABLE', async () => {
    const f = start({ noWorkers: 2, ecv: { monitor: '/health' } });
    const port = await f.ready();
    expectAll(await fresh(port, '/ecv', 6), 200, 'AVAILABLE', port);
  });

  it('ecv.monitor: an app route that never answers is cut at ecv.timeout → 500 WARNING', async () => {
    const f = start({ noWorkers: 1, ecv: { monitor: '/hang', timeout: 300 } });
    const port = await f.ready();
    const startedAt = Date.now();
    expectEcv(await request(port, '/ecv'), 500, 'WARNING', port);
    expect(Date.now() - startedAt).toBeLessThan(1500);
  });
});

function connectable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('graceful shutdown', () => {
  it('with shutdownDelay: 1000, ECV answers 400 DISABLED while the app still answers 200, then the listener closes', async () => {
    const f = start({ noWorkers: 2, shutdownDelay: 1000 });
    const port = await f.ready();
    expectEcv(await request(port, '/ecv'), 200, 'AVAILABLE', port);

    f.send('shutdown');
    const shutdownAt = (await f.waitFor('shutdown')).time;
    // Both workers got the drain: every fresh connection now sees DISABLED.
    await until(async () => (await fresh(port, '/ecv', 4)).every((a) => a.status === 400), 900, 'ECV to answer DISABLED on every worker');
    const window: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ecv = await request(port, '/ecv');
      expectEcv(ecv, 400, 'DISABLED', port);
      const app = await request(port, '/');
      window.push(`${ecv.status}/${app.status}`);
      expect(app.body).toMatch(/^hello from \d+$/);
    }
    expect(window).toEqual(Array.from({ length: 10 }, () => '400/200'));
    expect(Date.now() - shutdownAt).toBeLessThan(1000);

    await until(async () => !(await connectable(port)), 5000, 'the listener to close');
    const closedAfter = Date.now() - shutdownAt;
    expect(closedAfter).toBeGreaterThanOrEqual(950);
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
  });
});
