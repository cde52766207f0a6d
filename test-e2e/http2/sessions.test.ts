// HTTP/2 sessions in a worker's life: shutdown with idle sessions, in-flight and long-lived
// streams through a drain, the idle timeout, the heartbeat's figures, maxRequests, ECV over HTTP/2
// and sticky sessions over TLS.
import { afterEach, describe, expect, it } from 'vitest';
import { get, openSession, type WatchedSession } from './h2-client.js';
import { Fixture, holdUntilReleased, killAll, selfSignedCertDir, until, type FixtureMessage } from './harness.js';

const fixtures: Fixture[] = [];
const sessions: WatchedSession[] = [];
afterEach(() => {
  for (const { session } of sessions.splice(0)) session.destroy();
  killAll(fixtures.splice(0));
});

function start(options: object, env: Record<string, string> = {}): Fixture {
  const fixture = new Fixture({ noWorkers: 2, ...options }, env);
  fixtures.push(fixture);
  return fixture;
}

async function open(origin: string, count = 1): Promise<WatchedSession[]> {
  const opened = await Promise.all(Array.from({ length: count }, () => openSession(origin)));
  sessions.push(...opened);
  return opened;
}

type Worker = NonNullable<FixtureMessage['workers']>[number];
/** The latest heartbeat's workers. */
function lastBeat(f: Fixture): Worker[] {
  return f.events('heartbeat').at(-1)?.workers ?? [];
}

describe('HTTP/2 sessions through a drain', () => {
  it('shutdown with 100 idle sessions: every session gets GOAWAY and the master exits within idleGrace plus margin', async () => {
    const f = start({ idleGrace: 250, shutdownTimeout: 20_000 });
    const port = await f.ready();
    const opened = await open(`http://127.0.0.1:${port}`, 100);
    // One answered stream each: every session is established on a worker.
    const answers = await Promise.all(opened.map(({ session }) => get(session, '/')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(100);
    const pids = new Set(answers.map((a) => Number(a.headers['x-worker-pid'])));
    expect(pids.size).toBe(2);

    const started = Date.now();
    f.send('shutdown');
    await f.waitForExit();
    const took = Date.now() - started;
    expect(f.exitCode).toBe(0);
    // Measured 65–200 ms; without the GOAWAY the drain would wait for shutdownTimeout (20 s) or end sockets under their sessions.
    expect(took).toBeLessThan(250 + 4000);
    await until(() => opened.every(({ record }) => record.closed), 5000, 'every client session to close');
    expect(opened.filter(({ record }) => !record.goaway)).toHaveLength(0);
    expect(opened.map(({ record }) => record.error).filter(Boolean)).toEqual([]);
  });

  it('in-flight streams finish after the GOAWAY, and a long-lived stream is ended by the app in draining', async () => {
    const hold = holdUntilReleased();
    const f = start({ noWorkers: 1, heartbeatInterval: 200, shutdownTimeout: 20_000 }, { ...hold.env, FIXTURE_HEARTBEATS: '1' });
    const port = await f.ready();
    const [client] = await open(`http://127.0.0.1:${port}`);
    const held = Array.from({ length: 8 }, () => get(client!.session, '/hold', 'GET', 30_000));
    const ticks = get(client!.session, '/ticks', 'GET', 30_000);
    await f.waitFor('heartbeat', { where: (m) => (m.workers?.[0]?.inFlight ?? 0) >= 9 });
    expect(lastBeat(f)[0]).toMatchObject({ connections: 1 });

    f.send('shutdown');
    await until(() => client!.record.goaway, 5000, 'the GOAWAY');
    // The app ended its long-lived stream in 'draining': a normal end, not a reset.
    const ticked = await ticks;
    expect(ticked.status).toBe(200);
    expect(ticked.rstCode).toBe(0);
    expect(ticked.body).toMatch(/^tick\n(tick\n)*bye\n$/);
    // The held streams are still being served: the worker waits for them.
    expect(f.running).toBe(true);
    hold.release();
    const answers = await Promise.all(held);
    expect(answers.map((a) => [a.status, a.rstCode, a.body.split(' ')[0]])).toEqual(Array.from({ length: 8 }, () => [200, 0, 'held']));
    await f.waitForExit();
    expect(f.exitCode).toBe(0);
  });

  it('shutdown while new sessions keep arriving: every session a worker took has its first stream answered (none refused or cut)', async () => {
    const f = start({ noWorkers: 1 });
    const port = await f.ready();
    const outcomes: string[] = [];
    let stop = false;
    const lanes = Array.from({ length: 8 }, async () => {
      while (!stop) {
        let watched: WatchedSession;
        try {
          watched = await openSession(`http://127.0.0.1:${port}`);
        } catch (error) {
          outcomes.push((error as NodeJS.ErrnoException).code ?? 'connect error');
          if (!f.running) return;
          continue;
        }
        const answer = await get(watched.session, '/');
        if (answer.status === 200) outcomes.push('ok');
        // No worker ever took it: node:cluster's master had accepted it and closed it (or exited) as
        // its listener went away, as it does HTTP/1.1 connections that arrive then.
        else if (!watched.record.taken) outcomes.push('never taken');
        else outcomes.push(`status ${answer.status} rst ${answer.rstCode} error ${watched.record.error} goaway ${watched.record.goaway}`);
        watched.session.destroy();
      }
    });
    await until(() => outcomes.length >= 100, 20_000, '100 sessions served before the shutdown');
    f.send('shutdown');
    await f.waitForExit();
    stop = true;
    await Promise.all(lanes);
    // Connections that arrived as the master closed its listener find it closed or are reset, as HTTP/1.1 ones are.
    const failures = outcomes.filter((o) => !['ok', 'never taken', 'ECONNREFUSED', 'ECONNRESET'].includes(o));
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(100);
    expect(failures).toEqual([]);
    expect(f.exitCode).toBe(0);
  });

  it('the idle timeout sends GOAWAY to a session with no open stream and leaves one with a long-lived stream alone', async () => {
    const f = start({ noWorkers: 1, timeout: 1000, heartbeatInterval: 200 }, { FIXTURE_HEARTBEATS: '1' });
    const port = await f.ready();
    const [idle, busy] = await open(`http://127.0.0.1:${port}`, 2);
    expect((await get(idle!.session, '/')).status).toBe(200);
    const ticks = get(busy!.session, '/ticks', 'GET', 30_000);
    const opened = Date.now();
    await until(() => idle!.record.goaway && idle!.record.closed, 10_000, 'the idle session to be told to go away and close');
    // Idle for `timeout` (1000 ms), found by a sweep every 250 ms.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
    await f.waitFor('heartbeat', { where: (m) => (m.workers?.[0]?.idleCloses ?? 0) >= 1 });
    // Twice the timeout later the session with an open stream is still served.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(busy!.record.goaway).toBe(false);
    expect((await get(busy!.session, '/')).status).toBe(200);
    busy!.session.destroy();
    await ticks;
  });

  it('streams count as requests: the heartbeat reports them and maxRequests recycles the worker', async () => {
    const f = start({ noWorkers: 1, maxRequests: 40, heartbeatInterval: 200 }, { FIXTURE_HEARTBEATS: '1' });
    const port = await f.ready();
    const [client] = await open(`http://127.0.0.1:${port}`);
    const first = f.workerPids()[0]!;
    // 40 × up to 1.25 (the limits' jitter) is at most 50: 60 streams over one session pass it
    // (the GOAWAY comes once the successor listens, so the client may send all 60).
    const answers = [];
    for (let i = 0; i < 60 && !client!.record.goaway; i++) answers.push(await get(client!.session, '/'));
    const recycled = await f.waitFor('recycled');
    expect(recycled.args).toEqual([first, 'maxRequests']);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.length).toBeGreaterThanOrEqual(40);
    // The recycled worker told the session to go away rather than cutting it.
    await until(() => client!.record.goaway, 10_000, 'the GOAWAY from the recycled worker');
    const beats = f
      .events('heartbeat')
      .flatMap((m) => m.workers ?? [])
      .filter((w) => w.pid === first);
    // One stream, one request: the worker's figure never runs ahead of the streams sent. (Its last
    // heartbeat may predate the recycle, so the figure itself can be anything up to that.)
    const counted = Math.max(...beats.map((w) => w.requests ?? 0));
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(answers.length);
  });
});

describe('ECV over HTTP/2', () => {
  for (const mode of ['h2c', 'tls', 'stream-api'] as const) {
    it(`${mode}: /ecv answers as over HTTP/1.1 (status, body, headers; HEAD has no body) and the app never sees it`, async () => {
      const env: Record<string, string> = { FIXTURE_MODE: mode };
      if (mode === 'tls') env.FIXTURE_CERT_DIR = selfSignedCertDir('h2-ecv');
      const f = start({ noWorkers: 1, ecv: { monitor: '/' } }, env);
      const port = await f.ready();
      const [client] = await open(`${mode === 'tls' ? 'https' : 'http'}://127.0.0.1:${port}`);
      const answer = await get(client!.session, '/ecv');
      expect(answer.status).toBe(200);
      // ecv.monitor '/': the health check requested the app over HTTP/2 itself (an h2c server speaks nothing else).
      expect(answer.body).toMatch(/^status=AVAILABLE&ServeTraffic=true&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=/);
      expect(answer.body).toContain(`port=${port}`);
      expect(answer.headers['x-powered-by']).toBe('Cluster2');
      expect(answer.headers['x-worker-pid']).toBeUndefined();
      const head = await get(client!.session, '/ecv', 'HEAD');
      expect([head.status, head.body]).toEqual([200, '']);
      expect((await get(client!.session, '/ecv/live')).body).toBe('status=ALIVE');
      expect((await get(client!.session, '/ecv/enable', 'POST')).status).toBe(404);
      expect((await get(client!.session, '/')).body).toMatch(/^ok \d+$/);
    });
  }

  it('the control routes over HTTP/2 check :authority: a hostile one is refused (403), the address the client dialled flips the switch', async () => {
    const f = start({ noWorkers: 1, ecv: { control: true } });
    const port = await f.ready();
    const [client] = await open(`http://127.0.0.1:${port}`);
    const hostile = await get(client!.session, '/ecv/disable', 'POST', 10_000, { ':authority': 'evil.example' });
    expect(hostile.status).toBe(403);
    expect(hostile.body).toMatch(/Host/);
    expect((await get(client!.session, '/ecv')).status).toBe(200);
    const disabled = await get(client!.session, '/ecv/disable', 'POST');
    expect(disabled, JSON.stringify(disabled) + f.stderr).toMatchObject({ status: 204 });
    await until(async () => (await get(client!.session, '/ecv')).status === 400, 5000, 'ECV to turn DISABLED');
  });
});

describe('sticky sessions over TLS', () => {
  it('sticky: true keys HTTP/2 over TLS on the client address: every session from one address reaches one worker', async () => {
    const f = start({ noWorkers: 2, sticky: true }, { FIXTURE_MODE: 'tls', FIXTURE_CERT_DIR: selfSignedCertDir('h2-sticky') });
    const port = await f.ready();
    const opened = await open(`https://127.0.0.1:${port}`, 12);
    const answers = await Promise.all(opened.map(({ session }) => get(session, '/')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.headers['x-worker-pid'])).size).toBe(1);
  });
});
