// HTTP/2 through rolling reloads: draining workers tell every session to go away (GOAWAY) instead
// of ending its socket, so no stream fails and every client moves on to a new worker.
import { afterEach, describe, expect, it } from 'vitest';
import https from 'node:https';
import { H2Load, Http1KeepAliveLoad, get, openSession } from './h2-client.js';
import { Fixture, killAll, selfSignedCertDir, until } from './harness.js';

const RELOADS = 5;
const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

function start(options: object, env: Record<string, string> = {}): Fixture {
  const fixture = new Fixture({ noWorkers: 2, ...options }, env);
  fixtures.push(fixture);
  return fixture;
}

/** Reloads `rounds` times under `load`, with load flowing (some streams answered) before each. */
async function reloadUnderLoad(f: Fixture, load: { total: number }, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const before = load.total;
    await until(() => load.total >= before + 200, 20_000, 'streams answered between reloads');
    await f.reload();
  }
}

function expectEverySessionToldToGoAway(load: H2Load): void {
  expect(load.closedWithoutGoaway(), 'sessions closed without a GOAWAY').toEqual([]);
  expect(load.sessions.filter((record) => record.error !== undefined).map((record) => record.error)).toEqual([]);
}

describe('HTTP/2 sessions drain with GOAWAY through rolling reloads', () => {
  it(`h2c: 4 sessions x 16 concurrent streams through ${RELOADS} reloads: 0 failed streams, every session told to go away, all reconnected to new workers`, async () => {
    const f = start({});
    const port = await f.ready();
    const firstPids = f.workerPids();
    const load = new H2Load({ origin: `http://127.0.0.1:${port}`, sessions: 4, streams: 16 }).start();
    await reloadUnderLoad(f, load, RELOADS);
    // Sessions opened once the last reload finished reach only new workers (the old ones stopped listening).
    const sessionsBeforeLast = load.sessions.length;
    await until(() => f.workerPids().length === 2, 20_000, 'the last drained worker to exit');
    const after = load.total;
    await until(() => load.total >= after + 200, 20_000, 'streams answered after the last reload');
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.failed).toBe(0);
    expect(load.ok).toBeGreaterThan(RELOADS * 200);
    expectEverySessionToldToGoAway(load);
    // Each reload replaced both workers, and each of the 4 sessions moved once per drained worker it used.
    expect(load.sessions.length).toBeGreaterThanOrEqual(4 * (RELOADS + 1));
    const lastPids = f.workerPids();
    expect(lastPids).toHaveLength(2);
    for (const pid of load.pidsFrom(sessionsBeforeLast)) expect(lastPids).toContain(pid);
    for (const pid of firstPids) expect(lastPids).not.toContain(pid);
    for (const record of load.sessions) expect(record.goaway || record.closedByClient || !record.closed).toBe(true);
  });

  it('TLS with allowHTTP1: HTTP/2 sessions and HTTP/1.1 keep-alive clients on the same port through reloads: 0 failed on both', async () => {
    const certs = selfSignedCertDir('h2-tls');
    const f = start({}, { FIXTURE_MODE: 'tls', FIXTURE_CERT_DIR: certs });
    const port = await f.ready();
    const h2 = new H2Load({ origin: `https://127.0.0.1:${port}`, sessions: 2, streams: 16 }).start();
    const h1 = new Http1KeepAliveLoad(port, 4).start();
    const both = {
      get total() {
        return h2.total + h1.ok + h1.failed;
      },
    };
    await reloadUnderLoad(f, both, 3);
    await Promise.all([h2.stop(), h1.stop()]);

    expect(h2.failures).toEqual([]);
    expect(h1.failures).toEqual([]);
    expect(h2.failed + h1.failed).toBe(0);
    expect(h2.ok).toBeGreaterThan(300);
    expect(h1.ok).toBeGreaterThan(100);
    expectEverySessionToldToGoAway(h2);
    // HTTP/1.1 clients reached the new workers too.
    for (const pid of f.workerPids()) expect([...h1.pids, ...h2.pidsFrom(0)]).toContain(pid);
  });

  it('TLS, a new connection for every request (HTTP/2 and HTTP/1.1) through 3 reloads: no handshake under way is reset by a draining worker', async () => {
    const certs = selfSignedCertDir('h2-fresh');
    const f = start({}, { FIXTURE_MODE: 'tls', FIXTURE_CERT_DIR: certs });
    const port = await f.ready();
    const outcomes: string[] = [];
    let stop = false;
    const h2Lanes = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const { session } = await openSession(`https://127.0.0.1:${port}`);
          const answer = await get(session, '/');
          outcomes.push(answer.status === 200 ? 'ok' : `h2 status ${answer.status} rst ${answer.rstCode}`);
          session.close();
        } catch (error) {
          outcomes.push(`h2 ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      }
    });
    const h1Lanes = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const answer = await httpsGet(port).catch((error: NodeJS.ErrnoException) => `h1 ${error.code ?? error.message}`);
        outcomes.push(answer);
      }
    });
    const counted = {
      get total() {
        return outcomes.length;
      },
    };
    await reloadUnderLoad(f, counted, 3);
    stop = true;
    await Promise.all([...h2Lanes, ...h1Lanes]);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(600);
  });

  it('an app on the core stream API (no request listener, as gRPC servers are) drains the same way', async () => {
    const f = start({}, { FIXTURE_MODE: 'stream-api' });
    const port = await f.ready();
    const load = new H2Load({ origin: `http://127.0.0.1:${port}`, sessions: 2, streams: 8 }).start();
    await reloadUnderLoad(f, load, 2);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(load.failed).toBe(0);
    expectEverySessionToldToGoAway(load);
  });
});

/** One HTTP/1.1 request over a new TLS connection: 'ok', or what went wrong. */
function httpsGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent: false, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.startsWith('ok ') ? 'ok' : `h1 status ${res.statusCode}`));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('TIMEOUT')));
    req.on('error', reject);
  });
}
