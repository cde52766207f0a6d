import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, request, until } from './helpers.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

describe('connection hand-off', () => {
  it('a connection handed to a worker that dies before taking it is served by another worker (regression: it hung in the master forever)', async () => {
    // round-robin: the master accepts and hands each connection to a worker over IPC, one at a
    // time per worker, until that worker acknowledges it.
    const f = new Fixture('http-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, pids: false, noWorkers: 2, maxHeartbeatDelay: 60_000 });
    running.push(f);
    const port = await f.ready();
    const [frozen, other] = f.workerPids();
    // A stopped worker never acknowledges: the first connection routed to it waits in the master.
    process.kill(frozen!, 'SIGSTOP');
    const results: (number | string)[] = [];
    const answers = Array.from({ length: 6 }, () =>
      request(port, '/').then(
        (a) => results.push(a.status === 200 ? Number(a.headers['x-worker-pid']) : `HTTP ${a.status}`),
        (e: NodeJS.ErrnoException) => results.push(e.code ?? e.message),
      ),
    );
    await until(() => results.length === 5, 10_000, 'the five requests the other worker takes');
    expect(results).toEqual(Array(5).fill(other));
    process.kill(frozen!, 'SIGKILL');
    await f.waitFor('died', { where: (m) => m.args![0] === frozen });
    await until(
      () => results.length === 6,
      5000,
      'the stranded request to be served',
      () => JSON.stringify(results),
    );
    await Promise.all(answers);
    expect(typeof results[5]).toBe('number');
    expect(results[5]).not.toBe(frozen);
  });
});
