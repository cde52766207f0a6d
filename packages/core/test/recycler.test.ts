// The Recycler's order of work, with a host whose successors start when the test says so.
import { describe, expect, it } from 'vitest';
import type { RecycleReason } from '../src/status.js';
import { Recycler, type RecyclerHost } from '../src/primary/recycler.js';
import type { WorkerRecord } from '../src/primary/workers.js';

type State = WorkerRecord['state'];

/** Only what the Recycler reads of a worker record. */
const worker = (pid: number, state: State = 'listening') => ({ pid, state }) as unknown as WorkerRecord;
/** What the supervisor's state changes do to a real record, done to the stand-in. */
const moveTo = (record: WorkerRecord, state: State) => Object.assign(record, { state });

interface Started {
  record: WorkerRecord;
  listen(): void;
  fail(error: Error): void;
}

/** A host that records every call, in order, and leaves each successor's start to the test. */
function fakeHost({ holdRetired = false } = {}) {
  const log: string[] = [];
  const started: Started[] = [];
  /** With holdRetired, each retired worker's intake stays open until the test closes it. */
  const retired: Array<{ record: WorkerRecord; closeIntake(): void }> = [];
  const host: RecyclerHost = {
    startSuccessor(old) {
      log.push(`start ${old.pid}`);
      return new Promise<WorkerRecord>((resolve, reject) => {
        started.push({ record: old, listen: () => resolve(worker(old.pid + 1000)), fail: reject });
      });
    },
    retire(old, reason: RecycleReason) {
      log.push(`retire ${old.pid} ${reason}`);
      if (!holdRetired) return Promise.resolve();
      return new Promise<void>((resolve) => retired.push({ record: old, closeIntake: resolve }));
    },
  };
  return { host, log, started, retired };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Recycler', () => {
  it('starts the successor first and retires the old worker only once it listens, with the reason', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const old = worker(1);
    const done = recycler.request(old, 'maxRequests');
    await turn();
    expect(log).toEqual(['start 1']);
    expect(recycler.isReplacing(old)).toBe(true);
    expect(recycler.busy).toBe(true);
    started[0]!.listen();
    await done;
    expect(log).toEqual(['start 1', 'retire 1 maxRequests']);
    expect(recycler.isReplacing(old)).toBe(false);
    expect(recycler.busy).toBe(false);
  });

  it('replaces one worker at a time, in the order asked', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const [a, b, c] = [worker(1), worker(2), worker(3)];
    const done = [recycler.request(a, 'maxAge'), recycler.request(b, 'maxMemory'), recycler.request(c, 'reload')];
    await turn();
    expect(log).toEqual(['start 1']);
    expect(recycler.isReplacing(b)).toBe(false);
    started[0]!.listen();
    await done[0];
    await turn();
    expect(log).toEqual(['start 1', 'retire 1 maxAge', 'start 2']);
    started[1]!.listen();
    await done[1];
    await turn();
    started[2]!.listen();
    await done[2];
    expect(log).toEqual(['start 1', 'retire 1 maxAge', 'start 2', 'retire 2 maxMemory', 'start 3', 'retire 3 reload']);
  });

  it('asking again for a worker queued or under way joins the first request', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const [a, b] = [worker(1), worker(2)];
    const first = recycler.request(a, 'maxAge');
    const queued = recycler.request(b, 'maxAge');
    await turn();
    expect(recycler.request(a, 'maxRequests')).toBe(first);
    expect(recycler.request(b, 'maxRequests')).toBe(queued);
    started[0]!.listen();
    await first;
    await turn();
    started[1]!.listen();
    await queued;
    expect(log).toEqual(['start 1', 'retire 1 maxAge', 'start 2', 'retire 2 maxAge']);
  });

  it('a successor that fails to start rejects that request, retires nobody, and the queue goes on', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const [a, b] = [worker(1), worker(2)];
    const failed = recycler.request(a, 'maxAge');
    const next = recycler.request(b, 'maxAge');
    await turn();
    const error = new Error('successor died');
    started[0]!.fail(error);
    await expect(failed).rejects.toBe(error);
    await turn();
    started[1]!.listen();
    await next;
    expect(log).toEqual(['start 1', 'start 2', 'retire 2 maxAge']);
  });

  it('does not replace a worker that is no longer listening when its turn comes, nor retire one that stopped meanwhile', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const [a, b] = [worker(1), worker(2)];
    const first = recycler.request(a, 'maxAge');
    const second = recycler.request(b, 'maxAge');
    await turn();
    moveTo(b, 'draining');
    // a stops listening while its successor starts: the successor stays, a is not retired by us.
    moveTo(a, 'dead');
    started[0]!.listen();
    await first;
    await second;
    expect(log).toEqual(['start 1']);
    expect(recycler.busy).toBe(false);
  });

  it('close() rejects what is queued and every later request; the job under way finishes', async () => {
    const { host, log, started } = fakeHost();
    const recycler = new Recycler(host);
    const [a, b, c] = [worker(1), worker(2), worker(3)];
    const under = recycler.request(a, 'maxAge');
    const queued = recycler.request(b, 'maxAge');
    await turn();
    const shutdown = new Error('shutting down');
    recycler.close(shutdown);
    await expect(queued).rejects.toBe(shutdown);
    await expect(recycler.request(c, 'maxAge')).rejects.toBe(shutdown);
    expect(recycler.busy).toBe(true);
    started[0]!.listen();
    await under;
    expect(log).toEqual(['start 1', 'retire 1 maxAge']);
    expect(recycler.busy).toBe(false);
  });

  it('ends a recycle only once the retired worker takes no new connections, and starts the next one after it', async () => {
    const { host, log, started, retired } = fakeHost({ holdRetired: true });
    const recycler = new Recycler(host);
    const [a, b] = [worker(1), worker(2)];
    let firstDone = false;
    const first = recycler.request(a, 'reload').then(() => (firstDone = true));
    const second = recycler.request(b, 'reload');
    await turn();
    started[0]!.listen();
    await turn();
    await turn();
    // Retired, but its listeners not yet closed: node:cluster could still hand it a connection.
    expect(log).toEqual(['start 1', 'retire 1 reload']);
    expect(firstDone).toBe(false);
    retired[0]!.closeIntake();
    await first;
    await turn();
    expect(log).toEqual(['start 1', 'retire 1 reload', 'start 2']);
    started[1]!.listen();
    await turn();
    retired[1]!.closeIntake();
    await second;
    expect(recycler.busy).toBe(false);
  });
});
