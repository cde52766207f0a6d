import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadDriver, describeFailures, tally } from '../reliability/load.js';
import { killAll, readyPorts, request, runApp, until, whoamis, type Fixture } from './harness.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

function start(spec: Parameters<typeof runApp>[0]): Fixture {
  const fixture = runApp(spec);
  running.push(fixture);
  return fixture;
}

// Every framework runs under `cluster2 start` in cli.test.ts; the library path is checked with one.
const APPS = [['node:http', 'plain-http.mjs']] as const;
const RELOADS = 5;

describe.each(APPS)('cluster.run() of an unmodified %s app that calls its own listen()', (_name, entry) => {
  it(`serves from 2 workers, answers /ecv, and ${RELOADS} rolling reloads under keep-alive load fail 0 requests`, async () => {
    const f = start({ entry, options: { noWorkers: 2 }, run: { ecv: true } });
    const [port] = await readyPorts(f);
    expect(port).toBeGreaterThan(0);
    const workers = await whoamis(port!, 2);
    expect(workers.size).toBe(2);
    expect([...workers.values()].map((w) => w.instance).sort()).toEqual(['0', '1']);
    const ecv = await request(port!, '/ecv');
    expect(ecv.status).toBe(200);
    expect(ecv.body).toMatch(/status=AVAILABLE/);

    const load = new LoadDriver({ port: port!, lanes: { undici: 3, 'node-keepalive': 3, fresh: 1, slow: 1 }, maxDuration: 90_000 }).start();
    await load.settled(200);
    for (let round = 0; round < RELOADS; round++) {
      const from = f.messages.length;
      const before = f.workerPids();
      const settled = await f.call('reload');
      expect(settled.event).toBe('called');
      await until(
        () => before.every((pid) => f.pids('died', from).includes(pid)),
        15_000,
        'the old workers to exit',
        () => f.stderr,
      );
      const mark = load.outcomes.length;
      await load.settled(mark + 100);
    }
    await load.quiesce();
    const outcomes = await load.stop();
    expect(describeFailures(outcomes)).toEqual([]);
    expect(tally(outcomes).failed).toBe(0);
    expect(outcomes.length).toBeGreaterThan(500);
    // Every generation answered: the reloads replaced the workers the app runs in.
    expect(new Set(outcomes.map((o) => o.pid)).size).toBeGreaterThanOrEqual(2 * (RELOADS + 1));
  });
});

describe('cluster.run(): per-worker identity', () => {
  it('gives NODE_APP_INSTANCE and CLUSTER2_WORKER_ID 0..N-1, and a SIGKILLed worker’s replacement the same index', async () => {
    const f = start({ entry: 'plain-http.mjs', options: { noWorkers: 3 } });
    const [port] = await readyPorts(f);
    const workers = await whoamis(port!, 3);
    expect([...workers.values()].map((w) => w.instance).sort()).toEqual(['0', '1', '2']);
    for (const w of workers.values()) expect(w.workerId).toBe(w.instance);
    const [victimPid, victim] = [...workers.entries()].find(([, w]) => w.instance === '1')!;
    const from = f.messages.length;
    process.kill(victimPid, 'SIGKILL');
    const [replacementPid] = (await f.waitFor('listening', { from })).args as [number];
    const after = await whoamis(port!, 3);
    expect(after.has(victimPid)).toBe(false);
    expect(after.get(replacementPid)?.instance).toBe(victim.instance);
    expect([...after.values()].map((w) => w.instance).sort()).toEqual(['0', '1', '2']);
  });

  it('passes args as process.argv.slice(2), nodeArgs to the workers’ node, and env to the app', async () => {
    const f = start({
      entry: 'plain-http.mjs',
      options: { noWorkers: 1 },
      run: { args: ['--flag', 'value'], nodeArgs: ['--enable-source-maps'], env: { GREETING: 'hello' } },
    });
    const [port] = await readyPorts(f);
    const body = JSON.parse((await request(port!, '/whoami')).body) as { argv: string[]; execArgv: string[]; greeting: string };
    expect(body.argv).toEqual(['--flag', 'value']);
    expect(body.execArgv).toContain('--enable-source-maps');
    expect(body.greeting).toBe('hello');
  });
});

describe('cluster.run(): draining what the app listens on', () => {
  it('a shutdown answers the requests in flight on both of an app’s ports (public and admin) before the workers exit', async () => {
    const f = start({ entry: 'two-ports.mjs', options: { noWorkers: 2 }, env: { ADMIN_PORT: '0' } });
    const ports = await readyPorts(f);
    expect(ports).toHaveLength(2);
    const [publicPort, adminPort] = ports as [number, number];
    const inFlight = [request(publicPort, '/?ms=1500'), request(adminPort, '/?ms=1500')];
    await new Promise((resolve) => setTimeout(resolve, 300));
    f.send('shutdown');
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[0]!.body).toMatch(/^public \d+$/);
    expect(answers[1]!.body).toMatch(/^admin \d+$/);
    expect(answers.every((a) => a.headers.connection === 'close')).toBe(true);
    await f.waitForExit(20_000);
    expect(f.exitCode).toBe(0);
  });
});

describe('cluster.run(): recycling limits apply to the app’s own servers', () => {
  it('maxRequests recycles a worker successor first; the successor keeps its instance, and no request fails', async () => {
    const f = start({ entry: 'plain-http.mjs', options: { noWorkers: 1, maxRequests: 30 } });
    const [port] = await readyPorts(f);
    const [first] = f.workerPids();
    const statuses: number[] = [];
    // 30 × 1.25 at most (the per-worker jitter): 80 requests pass the limit at least once.
    for (let i = 0; i < 80; i++) statuses.push((await request(port!, '/', { headers: { connection: 'close' } })).status);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const recycled = await f.waitFor('recycled');
    expect(recycled.args).toEqual([first, 'maxRequests']);
    await until(
      () => f.pids('died').includes(first!),
      15_000,
      'the recycled worker to exit',
      () => f.stderr,
    );
    const after = await whoamis(port!, 1);
    expect([...after.keys()]).not.toContain(first);
    expect([...after.values()][0]!.instance).toBe('0');
  });
});

describe('cluster.run(): readiness', () => {
  it('with readySignal, a worker counts as listening only once the app calls process.send("ready")', async () => {
    const f = start({ entry: 'wait-ready.mjs', options: { noWorkers: 1, readySignal: true }, env: { READY_AFTER: '1500' } });
    const forked = await f.waitFor('forked');
    const listening = await f.waitFor('listening', { timeout: 20_000 });
    expect(listening.time - forked.time).toBeGreaterThanOrEqual(1400);
  });
});

describe('cluster.run(): bad input and broken apps', () => {
  it('an entry that does not exist is refused in the master with ERR_CLUSTER2_ENTRY_NOT_FOUND, before any fork', async () => {
    const f = start({ entry: 'no-such-app.mjs', options: { noWorkers: 2 } });
    const rejected = await f.waitFor('run-rejected');
    expect(rejected.code).toBe('ERR_CLUSTER2_ENTRY_NOT_FOUND');
    expect(rejected.message).toMatch(/no-such-app\.mjs does not exist/);
    expect(f.events('forked')).toHaveLength(0);
  });

  it('an app that throws while loading: the warning carries its error and stack, and the master gives up by the restart policy', async () => {
    const f = start({ entry: 'crash-at-start.mjs', options: { noWorkers: 1, restart: { maxRestarts: 1, minDelay: 10 } } });
    const warning = await f.waitFor('warning', { where: (m) => /failed to start/.test(JSON.stringify(m.args)) });
    expect(JSON.stringify(warning.args)).toMatch(/database url missing: set DATABASE_URL/);
    expect(JSON.stringify(warning.args)).toMatch(/crash-at-start\.mjs/);
    const rejected = await f.waitFor('run-rejected', { timeout: 20_000 });
    expect(rejected.code).toBe('ERR_CLUSTER2_GAVE_UP');
  });

  it('an app that never listens fails after startTimeout, saying so', async () => {
    const f = start({ entry: 'never-listens.mjs', options: { noWorkers: 1, startTimeout: 1500, restart: { maxRestarts: 0 } } });
    const warning = await f.waitFor('warning', { where: (m) => /failed to start/.test(JSON.stringify(m.args)), timeout: 20_000 });
    expect(JSON.stringify(warning.args)).toMatch(/did not listen within 1500 ms \(option startTimeout\): it created no server/);
  });

  it('with readySignal, an app that listens but never says ready is killed after startTimeout plus 5 s', async () => {
    const f = start({
      entry: 'wait-ready.mjs',
      options: { noWorkers: 1, readySignal: true, startTimeout: 1000, restart: { maxRestarts: 0 } },
      env: { NEVER_READY: '1' },
    });
    const warning = await f.waitFor('warning', { where: (m) => /failed to start/.test(JSON.stringify(m.args)), timeout: 30_000 });
    expect(JSON.stringify(warning.args)).toMatch(/did not call ready\(\) within 6000 ms/);
  });

  it('an app whose port another process holds: the warning names the port and the cause', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const held = (holder.address() as net.AddressInfo).port;
    try {
      const f = start({ entry: 'plain-http.mjs', options: { noWorkers: 1, restart: { maxRestarts: 0 } }, env: { PORT: String(held) } });
      const warning = await f.waitFor('warning', { where: (m) => /could not listen/.test(JSON.stringify(m.args)), timeout: 20_000 });
      expect(JSON.stringify(warning.args)).toMatch(new RegExp(`EADDRINUSE.*port ${held} is held by another process`));
      await f.waitFor('giveup', { timeout: 20_000 });
    } finally {
      holder.close();
    }
  });

  it('sticky sessions are refused with run(): the master cannot accept on ports only the app knows', async () => {
    const f = start({ entry: 'plain-http.mjs', options: { noWorkers: 1, sticky: true } });
    const rejected = await f.waitFor('run-rejected');
    expect(rejected.code).toBe('ERR_CLUSTER2_INVALID_OPTION');
    expect(rejected.message).toMatch(/"sticky" needs listen\(factory\)/);
  });
});

describe('cluster.run(): TypeScript entries', () => {
  const strips = typeof (process.features as { typescript?: unknown }).typescript === 'string';
  it.runIf(strips)('runs a .ts entry as is on a node that strips types', async () => {
    const f = start({ entry: 'ts-app.ts', options: { noWorkers: 2 } });
    const [port] = await readyPorts(f);
    expect((await request(port!, '/')).body).toMatch(/^ok \d+$/);
  });
  it.skipIf(strips)('refuses a .ts entry on a node that does not strip types, naming the versions and the loader fix', async () => {
    const f = start({ entry: 'ts-app.ts', options: { noWorkers: 2 } });
    const rejected = await f.waitFor('run-rejected');
    expect(rejected.code).toBe('ERR_CLUSTER2_ENTRY_NOT_RUNNABLE');
    expect(rejected.message).toMatch(/Node 22\.18 or later.*--import/);
  });
});
