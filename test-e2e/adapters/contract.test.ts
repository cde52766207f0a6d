// The adapter contract: core's plain-http mounting and the Express, Fastify and Koa adapters run
// the same clustered app (fixtures/<name>-app.mjs, 2 workers) and must behave the same for ECV,
// draining, idle timeouts, and must leave the app's own routes, middleware, errors and 404 alone.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Fixture, holdUntilReleased, inFlightAtLeast, killAll, request, tally, tempDir, until } from './helpers.js';

interface Framework {
  name: 'http' | 'express' | 'fastify' | 'koa';
  /** The framework's own 404 body for GET /nope. */
  notFound: RegExp;
  /** Who mounts the adapter in the fixture by default: the app, or listen(). */
  mounts?: 'app' | 'listen';
}

const FRAMEWORKS: Framework[] = [
  { name: 'http', notFound: /^Not Found$/ },
  { name: 'express', notFound: /Cannot GET \/nope/, mounts: 'app' },
  { name: 'fastify', notFound: /"message":"Route GET:\/nope not found"/, mounts: 'app' },
  { name: 'koa', notFound: /^Not Found$/, mounts: 'listen' },
];

const AVAILABLE = /^status=AVAILABLE&ServeTraffic=true&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;
const DISABLED = /^status=DISABLED&ServeTraffic=false&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

function start(framework: Framework, options: object = {}, env: Record<string, string> = {}): Fixture {
  const fixture = new Fixture(`${framework.name}-app.mjs`, options, env);
  running.push(fixture);
  return fixture;
}

/** `count` requests, each on a fresh connection (so round-robin spreads them over the workers). */
function fresh(port: number, urlPath: string, count: number) {
  return Promise.all(Array.from({ length: count }, () => request(port, urlPath)));
}

/** A GET /stream on a fresh connection: resolves once the first event (the worker's pid) arrived. */
function openStream(port: number): Promise<{ pid: number; ended: Promise<{ body: string; complete: boolean }> }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      const ended = new Promise<{ body: string; complete: boolean }>((done) => {
        res.on('end', () => done({ body, complete: res.complete }));
        res.on('aborted', () => done({ body, complete: false }));
        res.on('error', () => done({ body, complete: false }));
      });
      res.on('data', (chunk: string) => {
        const first = body === '';
        body += chunk;
        const pid = /^data: (\d+)\n\n/.exec(body);
        if (first && pid) resolve({ pid: Number(pid[1]), ended });
      });
    });
    req.on('error', reject);
  });
}

describe.each(FRAMEWORKS)('$name', (framework) => {
  describe('a running cluster', () => {
    // One cluster for the checks that leave it as they found it; afterEach kills only per-test fixtures.
    let shared: Fixture;
    let port: number;
    beforeAll(async () => {
      shared = new Fixture(`${framework.name}-app.mjs`, {});
      port = await shared.ready();
    });
    afterAll(() => killAll([shared]));

    it('answers GET /ecv with 200, the AVAILABLE body and the ECV headers', async () => {
      const answer = await request(port, '/ecv');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(AVAILABLE);
      expect(answer.body).toContain(`&port=${port}&`);
      expect(answer.headers['content-type']).toMatch(/^text\/plain/);
      expect(answer.headers['x-powered-by']).toBe('Cluster2');
      expect(answer.headers['cache-control']).toBe('no-cache');
      expect(new Date(answer.headers.since as string).getTime()).not.toBeNaN();
    });

    it('answers HEAD /ecv with 200 and no body', async () => {
      const answer = await request(port, '/ecv', { method: 'HEAD' });
      expect(answer.status).toBe(200);
      expect(answer.headers['x-powered-by']).toBe('Cluster2');
      expect(answer.body).toBe('');
    });

    it('answers GET /ecv/live with 200', async () => {
      const answer = await request(port, '/ecv/live');
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('status=ALIVE');
    });

    it('answers a wrong method on an ECV route with 405 and Allow', async () => {
      const put = await request(port, '/ecv', { method: 'PUT' });
      expect(put.status).toBe(405);
      expect(put.headers.allow).toBe('GET, HEAD');
      const get = await request(port, '/ecv/disable');
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
    });

    it("leaves the app's routes, middleware, error handler and 404 alone", async () => {
      const root = await request(port, '/');
      expect(root.status).toBe(200);
      expect(JSON.parse(root.body)).toMatchObject({ framework: framework.name });
      expect(root.headers['x-app-middleware']).toBe(framework.name);
      const error = await request(port, '/error');
      expect(error.status).toBe(500);
      expect(JSON.parse(error.body)).toEqual({ handledBy: 'app', message: 'boom' });
      expect(error.headers['x-app-middleware']).toBe(framework.name);
      const missing = await request(port, '/nope');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatch(framework.notFound);
      expect(missing.headers['x-app-middleware']).toBe(framework.name);
    });

    it("gives the app the serving Cluster through the framework's context", async () => {
      const context = JSON.parse((await request(port, '/context')).body);
      expect(context.cluster).toEqual({ role: 'worker', enabled: true, delegate: 'function', subscribe: 'function', ready: 'function' });
      expect(shared.workerPids()).toContain(context.pid);
    });

    it('POST /ecv/disable takes every worker out of rotation, /ecv/live stays 200, enable puts them back', async () => {
      const disabled = await request(port, '/ecv/disable', { method: 'POST' });
      expect(disabled.status).toBe(204);
      expect(disabled.headers['x-powered-by']).toBe('Cluster2');
      try {
        const down = await fresh(port, '/ecv', 20);
        expect(down.map((a) => a.status)).toEqual(Array(20).fill(400));
        for (const answer of down) expect(answer.body).toMatch(DISABLED);
        // Every worker agreed (the app's context route says which worker answered).
        const contexts = (await fresh(port, '/context', 20)).map((a) => JSON.parse(a.body));
        expect(new Set(contexts.map((c) => c.pid))).toEqual(new Set(shared.workerPids()));
        expect(contexts.every((c) => c.cluster.enabled === false)).toBe(true);
        expect((await request(port, '/ecv/live')).status).toBe(200);
      } finally {
        expect((await request(port, '/ecv/enable', { method: 'POST' })).status).toBe(204);
      }
      const up = await fresh(port, '/ecv', 20);
      expect(up.map((a) => a.status)).toEqual(Array(20).fill(200));
      for (const answer of up) expect(answer.body).toMatch(AVAILABLE);
    });
  });

  describe("who may use the ECV control routes (the monitor's guard)", () => {
    /** Every worker still answers 200 AVAILABLE, and the app's context says enabled on each of them. */
    async function expectAllInRotation(fixture: Fixture, port: number): Promise<void> {
      const answers = await fresh(port, '/ecv', 20);
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      for (const answer of answers) expect(answer.body).toMatch(AVAILABLE);
      const contexts = (await fresh(port, '/context', 20)).map((a) => JSON.parse(a.body));
      expect(new Set(contexts.map((c) => c.pid))).toEqual(new Set(fixture.workerPids()));
      expect(contexts.every((c) => c.cluster.enabled === true)).toBe(true);
    }

    it('without monToken refuses cross-origin, Origin: null, DNS-rebinding Host and Sec-Fetch-Site: cross-site with 403 (a loopback peer took the cluster out of rotation with them)', async () => {
      const f = start(framework);
      const port = await f.ready();
      for (const headers of [{ origin: 'http://evil.com' }, { origin: 'null' }, { host: `evil.example:${port}` }, { 'sec-fetch-site': 'cross-site' }]) {
        const answer = await request(port, '/ecv/disable', { method: 'POST', headers });
        expect({ headers, status: answer.status }).toEqual({ headers, status: 403 });
        expect(answer.headers['x-powered-by']).toBe('Cluster2');
        expect(answer.headers['cache-control']).toBe('no-cache');
        expect(answer.body).toMatch(/^Forbidden: /);
      }
      await expectAllInRotation(f, port);
      expect(f.events('disabled')).toEqual([]);
      // A plain loopback call (what curl on the host sends) still works.
      expect((await request(port, '/ecv/disable', { method: 'POST' })).status).toBe(204);
      await f.waitFor('disabled');
      expect(f.events('disabled')).toHaveLength(1); // the refused calls emitted none
      expect((await request(port, '/ecv/enable', { method: 'POST' })).status).toBe(204);
    });

    it('with monToken every caller needs it, loopback included: 401 without (Bearer challenge), 403 wrong, 204 right', async () => {
      const f = start(framework, { monToken: 's3cret' });
      const port = await f.ready();
      const missing = await request(port, '/ecv/disable', { method: 'POST' });
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="cluster2"');
      expect(missing.headers['x-powered-by']).toBe('Cluster2');
      expect((await request(port, '/ecv/disable', { method: 'POST', headers: { authorization: 'Bearer s3cret2' } })).status).toBe(403);
      await expectAllInRotation(f, port);
      // GET {path} and {path}/live stay open: load balancers poll them without credentials.
      expect((await request(port, '/ecv/live')).status).toBe(200);

      const right = { authorization: 'Bearer s3cret', origin: 'https://ops.example.com', host: 'ops.example.com' };
      expect((await request(port, '/ecv/disable', { method: 'POST', headers: right })).status).toBe(204);
      const down = await fresh(port, '/ecv', 10);
      expect(down.map((a) => a.status)).toEqual(Array(10).fill(400));
      expect((await request(port, '/ecv/enable', { method: 'POST', headers: right })).status).toBe(204);
      await expectAllInRotation(f, port);
    });
  });

  describe.runIf(framework.mounts)('mounting', () => {
    it(`works just as well when ${framework.mounts === 'app' ? 'listen()' : 'the app'} mounts the adapter`, async () => {
      const f = start(framework, {}, { FIXTURE_MOUNT: framework.mounts === 'app' ? 'listen' : 'app' });
      const port = await f.ready();
      expect((await request(port, '/ecv')).body).toMatch(AVAILABLE);
      // ECV control comes from listen()'s options.
      expect((await request(port, '/ecv/disable', { method: 'POST' })).status).toBe(204);
      expect((await fresh(port, '/ecv', 10)).map((a) => a.status)).toEqual(Array(10).fill(400));
      expect((await request(port, '/ecv/enable', { method: 'POST' })).status).toBe(204);
      const root = await request(port, '/');
      expect(root.status).toBe(200);
      expect(root.headers['x-app-middleware']).toBe(framework.name);
      expect(JSON.parse((await request(port, '/context')).body).cluster.role).toBe('worker');
      expect((await request(port, '/nope')).body).toMatch(framework.notFound);
    });

    it("the mounting call's ecv and timeout win over listen()'s", async () => {
      const f = start(
        framework,
        { ecv: { disabledStatus: 404 }, timeout: 60_000 },
        { FIXTURE_MOUNT: 'app', FIXTURE_MOUNT_OPTIONS: JSON.stringify({ ecv: { disabledStatus: 503 }, timeout: 300 }) },
      );
      const port = await f.ready();
      expect((await request(port, '/ecv/disable', { method: 'POST' })).status).toBe(204);
      const down = await fresh(port, '/ecv', 10);
      expect(down.map((a) => a.status)).toEqual(Array(10).fill(503));
      expect(down[0]!.body).toMatch(DISABLED);
      const socket = net.connect(port, '127.0.0.1');
      const connectedAt = await new Promise<number>((resolve) => socket.once('connect', () => resolve(Date.now())));
      const endedAt = await new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
      socket.destroy();
      expect(endedAt - connectedAt).toBeLessThan(1300);
    });
  });

  describe('graceful shutdown', () => {
    it('answers a request in flight with Connection: close, and exits 0', async () => {
      const hold = holdUntilReleased();
      const f = start(framework, { heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1', ...hold.env });
      const port = await f.ready();
      const agent = new http.Agent({ keepAlive: true });
      const held = request(port, '/hold', { agent });
      await f.waitFor('heartbeat', { where: inFlightAtLeast(1) });
      f.send('shutdown');
      await f.waitFor('shutdown');
      hold.release();
      const answer = await held;
      agent.destroy();
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^held \d+$/);
      expect(answer.headers.connection).toBe('close');
      await f.waitForExit();
      expect(f.exitCode).toBe(0);
    });

    it('answers 2000 requests in flight when the master shuts down, every one with a 200', async () => {
      // The app holds each request until the test releases them, after the shutdown has begun.
      const hold = holdUntilReleased();
      const f = start(framework, { heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1', ...hold.env });
      const port = await f.ready();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 2000 });
      const answers = Array.from({ length: 2000 }, () =>
        request(port, '/hold', { agent }).then(
          (a) => a.status,
          (e: Error) => e.message,
        ),
      );
      await f.waitFor('heartbeat', { where: inFlightAtLeast(2000), timeout: 30_000 });
      f.send('shutdown');
      await f.waitFor('shutdown');
      hold.release();
      const results = await Promise.all(answers);
      agent.destroy();
      expect(tally(results)).toEqual({ 200: 2000 });
      await f.waitForExit();
      expect(f.exitCode).toBe(0);
    });

    it("ends streams from the app's 'draining' listener, reached through the framework's context, and exits without waiting for shutdownTimeout", async () => {
      const f = start(framework, { shutdownTimeout: 20_000 });
      const port = await f.ready();
      // Fresh connections, so the streams spread over both workers.
      const streams = await Promise.all(Array.from({ length: 4 }, () => openStream(port)));
      expect(new Set(streams.map((s) => s.pid)).size).toBe(2);
      const askedAt = Date.now();
      f.send('shutdown');
      const endings = await Promise.all(streams.map((s) => s.ended));
      await f.waitForExit();
      expect(f.exitCode).toBe(0);
      expect(f.exitedAt! - askedAt).toBeLessThan(5000);
      for (const ending of endings) {
        expect(ending.complete, 'the stream ended with its terminating chunk, not cut').toBe(true);
        expect(ending.body.endsWith('event: bye\ndata: draining\n\n')).toBe(true);
      }
    });

    it.runIf(framework.name === 'fastify')("runs the app's onClose hooks after the drain, before each worker exits", async () => {
      const marks = tempDir('onclose');
      const f = start(framework, {}, { FIXTURE_MARK_DIR: marks });
      await f.ready();
      const workers = f.workerPids();
      f.send('shutdown');
      await f.waitForExit();
      expect(f.exitCode).toBe(0);
      // Needs core's worker drain to await the onDrained hooks (runDrainedHooks) before it exits.
      expect(fs.readdirSync(marks).sort(), 'onClose hooks that ran before the workers exited').toEqual(workers.map((pid) => `fastify-onclose-${pid}`).sort());
    });
  });

  describe.runIf(framework.name !== 'http')('what runs in the master', () => {
    /** The pool file's lines (`open <pid>`, `close <pid>`, `master <pid>`) as { what: pids }. */
    function poolLines(file: string): Record<string, number[]> {
      const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
      const byWhat: Record<string, number[]> = { open: [], close: [], master: [] };
      for (const line of lines) {
        const [what, pid] = line.split(' ');
        byWhat[what!]!.push(Number(pid));
      }
      return byWhat;
    }

    /** Starts the fixture with a pool file, shuts it down gracefully, and returns the worker pids and the file's lines. */
    async function poolsOverALifetime(
      env: Record<string, string>,
    ): Promise<{ master: number; workers: number[]; lines: Record<string, number[]>; stoppedIn: number }> {
      const file = path.join(tempDir('pool'), 'pool.log');
      const f = start(framework, {}, { FIXTURE_POOL_FILE: file, ...env });
      await f.ready();
      const workers = f.workerPids();
      const askedAt = Date.now();
      f.send('shutdown');
      await f.waitForExit();
      expect(f.exitCode, `the master exits 0; stderr: ${f.stderr}`).toBe(0);
      expect(f.exitSignal).toBeNull();
      return { master: f.pid, workers, lines: poolLines(file), stoppedIn: f.exitedAt! - askedAt };
    }

    it('the function given to listen() builds the app only in workers: one pool per worker, none in the master, each closed as its worker drains', async () => {
      const { master, workers, lines, stoppedIn } = await poolsOverALifetime({ FIXTURE_BUILD: 'function' });
      expect(workers).toHaveLength(2);
      expect(lines.master).toEqual([master]);
      expect(lines.open!.sort()).toEqual([...workers].sort());
      expect(lines.open).not.toContain(master);
      expect(lines.close!.sort()).toEqual([...workers].sort());
      expect(stoppedIn).toBeLessThan(10_000);
    });

    it("a rolling reload closes each old worker's pool as it drains and opens one per successor, never in the master", async () => {
      const file = path.join(tempDir('pool'), 'pool.log');
      const f = start(framework, {}, { FIXTURE_POOL_FILE: file, FIXTURE_BUILD: 'function' });
      await f.ready();
      const first = f.workerPids();
      expect((await f.call('reload')).event).toBe('called');
      // Each old worker closes its pool once drained, which may come just after reload() resolves.
      await until(
        () => poolLines(file).close!.length >= 2,
        15_000,
        "the old workers' pools to close",
        () => fs.readFileSync(file, 'utf8'),
      );
      const successors = f.workerPids().filter((pid) => !first.includes(pid));
      const lines = poolLines(file);
      expect(successors).toHaveLength(2);
      expect(lines.close!.sort()).toEqual([...first].sort());
      expect(lines.open!.sort()).toEqual([...first, ...successors].sort());
      expect(lines.open).not.toContain(f.pid);
    });

    it.runIf(framework.name === 'fastify')(
      'an app built at module top level boots only in workers: its plugins open one pool per worker, none in the master (the master never called ready()), and onClose closes each',
      async () => {
        const { master, workers, lines, stoppedIn } = await poolsOverALifetime({});
        expect(workers).toHaveLength(2);
        expect(lines.master).toEqual([master]);
        expect(lines.open!.sort()).toEqual([...workers].sort());
        expect(lines.open).not.toContain(master);
        expect(lines.close!.sort()).toEqual([...workers].sort());
        // The master's app was never booted: nothing of it keeps the master from exiting at once.
        expect(stoppedIn).toBeLessThan(10_000);
      },
    );

    it.runIf(framework.name !== 'fastify')(
      'an app built at module top level runs that code in the master too: one pool more, there, never closed (why the function form exists)',
      async () => {
        const { master, workers, lines } = await poolsOverALifetime({});
        expect(lines.open!.sort()).toEqual([master, ...workers].sort());
        expect(lines.close!.sort()).toEqual([...workers].sort());
      },
    );
  });

  describe('idle timeout', () => {
    it('ends a socket idle for `timeout` ms, counted in the heartbeat (idleCloses), not warned', async () => {
      const f = start(framework, { timeout: 300, heartbeatInterval: 50 }, { FIXTURE_REPORT_HEARTBEATS: '1' });
      const port = await f.ready();
      const socket = net.connect(port, '127.0.0.1');
      const connectedAt = await new Promise<number>((resolve) => socket.once('connect', () => resolve(Date.now())));
      const endedAt = await new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
      socket.destroy();
      expect(endedAt - connectedAt).toBeGreaterThanOrEqual(290);
      expect(endedAt - connectedAt).toBeLessThan(1300);
      await f.waitFor('heartbeat', { where: (m) => (m.args![0] as { totals: { idleCloses: number } }).totals.idleCloses === 1 });
      expect(f.events('warning')).toEqual([]);
    });

    it('never cuts a request longer than `timeout`, and ends the keep-alive socket once it idles', async () => {
      const f = start(framework, { timeout: 300 });
      const port = await f.ready();
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let received = '';
      let answeredAt = 0;
      // Stamped as the answer arrives, not when a poll notices it (a loaded machine polls late).
      socket.on('data', (chunk) => {
        received += chunk.toString();
        if (answeredAt === 0 && /slow \d+/.test(received)) answeredAt = Date.now();
      });
      const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
      socket.write('GET /slow?ms=700 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      await until(() => answeredAt > 0, 5000, 'the slow response');
      const endedAt = await ended;
      socket.destroy();
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(endedAt - answeredAt).toBeGreaterThanOrEqual(250);
      expect(endedAt - answeredAt).toBeLessThan(1300);
    });
  });
});
