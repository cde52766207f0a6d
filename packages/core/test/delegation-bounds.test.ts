import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WarningThrottle } from '../src/delegation/throttle.js';
import { measureSize, measureWholeSize, truncateMessage } from '../src/ipc/size.js';
import { EventLog } from '../src/primary/event-log.js';
import type { LifecycleEvent } from '../src/status.js';
import { createHarness, deferred, until } from './delegation-harness.js';

const LIMIT = 4096;

describe('maxMessageSize in the worker and the master', () => {
  it('delegate() rejects a request over the limit before sending it, naming its size and the limit', async () => {
    const h = createHarness([101], { maxMessageSize: LIMIT });
    h.router.handle('store', (payload: string) => payload.length);
    await expect(h.client(101).delegate('store', 'x'.repeat(3000))).resolves.toBe(3000);
    const error = await h
      .client(101)
      .delegate('store', 'x'.repeat(5000))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE' });
    expect((error as Error).message).toMatch(
      /^delegate\("store"\): the message is about 51\d\d bytes \(5\.0 KiB\), more than maxMessageSize \(4096 bytes \(4\.0 KiB\)\)/,
    );
    expect(h.router.stats()).toEqual({ pending: 0, tooLarge: 0, answersTooLarge: 0, tooManyPending: 0 });
    expect(h.client(101).pendingCount()).toBe(0);
  });

  it('a raw request over the limit is neither emitted nor echoed: with expect it gets the error and its matched fields only, without it is dropped; one warning per worker', async () => {
    const h = createHarness([101, 102], { maxMessageSize: LIMIT });
    const emitted: unknown[] = [];
    h.emitter.on('big', (message) => emitted.push(message));
    const blob = 'b'.repeat(10_000);
    for (let id = 1; id <= 3; id++) h.post(101, { type: 'delegate', delegate: 'big', expect: 'big-done', matches: ['id'], id, blob });
    h.post(101, { type: 'delegate', delegate: 'big', blob });
    h.post(102, { type: 'delegate', delegate: 'big', blob });
    await until(() => h.router.stats().tooLarge === 5);
    await h.next(101, (m) => m.id === 3);
    expect(emitted).toEqual([]);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.received(101).map((m) => Object.keys(m).sort())).toEqual([
      ['error', 'id', 'type'],
      ['error', 'id', 'type'],
      ['error', 'id', 'type'],
    ]);
    expect(h.received(101)[0]).toMatchObject({ type: 'big-done', id: 1, error: { code: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE' } });
    expect(h.received(102)).toEqual([]);
    expect(h.warnings.map((w) => w.pid)).toEqual([101, 102]);
    expect(h.warnings[0]!.message).toMatch(/^refused delegation "big" from worker 101: the message is about 100\d\d bytes/);
    h.router.close();
  });

  it('an answer over the limit is replaced with MESSAGE_TOO_LARGE for the asker (typed and raw), and counted', async () => {
    const h = createHarness([101], { maxMessageSize: LIMIT });
    h.router.handle('dump', () => 'd'.repeat(5000));
    await expect(h.client(101).delegate('dump')).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE',
      message: expect.stringMatching(/^the answer to "dump"/),
    });
    h.emitter.on('raw-dump', (message: { id: number }) => h.emitter.emit('raw-dumped', { id: message.id, data: 'd'.repeat(5000) }));
    h.post(101, { type: 'delegate', delegate: 'raw-dump', expect: 'raw-dumped', matches: ['id'], id: 9 });
    const answer = await h.next(101, (m) => m.type === 'raw-dumped');
    expect(answer).toEqual({
      type: 'raw-dumped',
      id: 9,
      error: { code: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE', message: expect.any(String), name: 'Cluster2Error' },
    });
    expect(h.router.stats()).toMatchObject({ answersTooLarge: 2, pending: 0 });
    h.router.close();
  });
  it('notify() throws MESSAGE_TOO_LARGE for data over the limit and sends nothing', async () => {
    const h = createHarness([101], { maxMessageSize: LIMIT });
    const seen: unknown[] = [];
    h.client(101).subscribe('news', (data) => seen.push(data));
    await until(() => h.router.subscriberCount('news') === 1);
    expect(() => h.router.notify('news', 'n'.repeat(5000))).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_MESSAGE_TOO_LARGE' }));
    expect(h.router.notify('news', 'small')).toBe(1);
    await until(() => seen.length === 1);
    expect(seen).toEqual(['small']);
    h.router.close();
  });

  it('a subscription change over the limit is not kept', async () => {
    const h = createHarness([101], { maxMessageSize: LIMIT });
    const event = 'e'.repeat(10_000);
    h.post(101, { type: 'cluster2:subscribe', event });
    h.post(101, { type: 'cluster2:subscribe', event: 'small' });
    await until(() => h.router.subscriberCount('small') === 1);
    expect(h.router.subscriberCount(event)).toBe(0);
    expect(h.router.stats().tooLarge).toBe(1);
    expect(h.warnings[0]!.message).toMatch(/^ignored cluster2:subscribe from worker 101: the message is about 100\d\d bytes/);
    h.router.close();
  });
});

describe('maxPendingDelegations', () => {
  it('past the cap a worker is answered at once with TOO_MANY_PENDING; other workers are not affected; an answer frees a slot', async () => {
    const h = createHarness([101, 102], { maxPendingDelegations: 3 });
    const gates: Array<ReturnType<typeof deferred<string>>> = [];
    h.router.handle('wait', () => {
      const gate = deferred<string>();
      gates.push(gate);
      return gate.promise;
    });
    const first = [1, 2, 3].map((n) => h.client(101).delegate('wait', n, { timeout: 60_000 }));
    const refused = await Promise.allSettled([4, 5].map((n) => h.client(101).delegate('wait', n, { timeout: 60_000 })));
    expect(refused.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : r.status))).toEqual([
      'ERR_CLUSTER2_TOO_MANY_PENDING',
      'ERR_CLUSTER2_TOO_MANY_PENDING',
    ]);
    expect(h.router.pendingCount()).toBe(3);
    const other = h.client(102).delegate('wait', 'other', { timeout: 60_000 });
    await until(() => h.router.pendingCount() === 4);
    gates[0]!.resolve('done');
    await expect(first[0]).resolves.toBe('done');
    const again = h.client(101).delegate('wait', 6, { timeout: 60_000 });
    await until(() => h.router.pendingCount() === 4 && gates.length === 5);
    for (const gate of gates) gate.resolve('ok');
    await Promise.all([...first, other, again]);
    expect(h.router.stats()).toEqual({ pending: 0, tooLarge: 0, answersTooLarge: 0, tooManyPending: 2 });
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]!.message).toBe('worker 101 already has 3 delegations pending (maxPendingDelegations); "wait" refused');
    h.router.close();
  });
});

describe('WarningThrottle', () => {
  it('reports the first warning of a key at once and the repeats as one line when the period ends', async () => {
    const lines: Array<[string, number | undefined]> = [];
    const throttle = new WarningThrottle((message, pid) => lines.push([message, pid]), 50);
    for (let i = 0; i < 288; i++) throttle.report('7:x', 7, `refused #${i}`, 'refusals for worker 7');
    throttle.report('8:x', 8, 'refused once', 'refusals for worker 8');
    expect(lines).toEqual([
      ['refused #0', 7],
      ['refused once', 8],
    ]);
    await until(() => lines.length === 3, 2000);
    expect(lines[2]).toEqual(['… and 287 more refusals for worker 7 in the last 0.05 s', 7]);
    throttle.report('7:x', 7, 'a new period', 'refusals for worker 7');
    expect(lines[3]).toEqual(['a new period', 7]);
    throttle.clear();
  });
});

describe('event log bounds', () => {
  it('no number of warnings pushes lifecycle events out; messages are cut to 1024 characters with their length', () => {
    const source = new EventEmitter();
    const emitted: LifecycleEvent[] = [];
    source.on('lifecycle', (entry: LifecycleEvent) => emitted.push(entry));
    const log = new EventLog(source);
    log.add({ type: 'died', pid: 1, code: null, signal: 'SIGKILL' });
    for (let i = 0; i < 1000; i++) log.add({ type: 'warning', pid: 2, message: i === 999 ? 'w'.repeat(5_000_000) : `warning ${i}` });
    log.add({ type: 'forked', pid: 3 });
    const list = log.list();
    expect(list.filter((e) => e.type === 'warning')).toHaveLength(50);
    expect(list.filter((e) => e.type !== 'warning').map((e) => e.type)).toEqual(['died', 'forked']);
    expect(list.map((e) => e.time)).toEqual([...list.map((e) => e.time)].sort((a, b) => a - b));
    const last = list.filter((e) => e.type === 'warning').at(-1)!;
    expect(last.message).toBe(`${'w'.repeat(1024)}… (5000000 characters, truncated)`);
    expect(emitted.at(-2)!.message).toBe(last.message);
    expect(truncateMessage(last.message!)).toBe(last.message);
  });
});

describe('measureSize', () => {
  it('is close to the JSON length of typical messages, stops past its budget, and survives cycles', () => {
    const request = {
      type: 'delegate',
      delegate: 'config:read',
      expect: 'cluster2:reply',
      matches: ['requestId'],
      requestId: 'abc.def:12',
      payload: { key: 'db', n: 12, ok: true, at: new Date(0), list: [1, 'two', null] },
      timeout: 10000,
    };
    const json = JSON.stringify(request).length;
    const measured = measureSize(request, Infinity);
    expect(Math.abs(measured - json) / json).toBeLessThan(0.15);
    expect(measureSize({ blob: Buffer.alloc(1000) }, Infinity)).toBeGreaterThanOrEqual(4000);
    const huge = { items: Array.from({ length: 1_000_000 }, () => 'x') };
    expect(measureSize(huge, 1000)).toBeLessThan(1100);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(measureSize(cyclic, 10_000)).toBeGreaterThan(10_000);
    expect(measureWholeSize(cyclic)).toBeLessThan(100);
  });
});
