import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster.js';
import { createInProcessDelegation } from '../src/delegation/local.js';
import { DelegationClient } from '../src/delegation/worker.js';
import { createHarness, until } from './delegation-harness.js';

describe('DelegationClient on its own', () => {
  it('rejects every pending delegation with ERR_CLUSTER2_MASTER_GONE on close, and later ones at once', async () => {
    const sent: object[] = [];
    const client = new DelegationClient({ send: (message) => sent.push(message) });
    const first = client.delegate('a', 1);
    const second = client.delegate('b', 2);
    expect(client.pendingCount()).toBe(2);
    client.close();
    await expect(first).rejects.toMatchObject({ code: 'ERR_CLUSTER2_MASTER_GONE' });
    await expect(second).rejects.toMatchObject({ code: 'ERR_CLUSTER2_MASTER_GONE' });
    await expect(client.delegate('c')).rejects.toMatchObject({ code: 'ERR_CLUSTER2_MASTER_GONE' });
    expect(client.pendingCount()).toBe(0);
    expect(sent).toHaveLength(2);
  });

  it('gives up by itself a little after the timeout when the master never answers', async () => {
    const client = new DelegationClient({ send: () => {}, timeoutMargin: 20 });
    const started = Date.now();
    await expect(client.delegate('void', null, { timeout: 30 })).rejects.toMatchObject({ code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(client.pendingCount()).toBe(0);
  });

  it('rejects bad arguments and unsendable requests with a code instead of throwing', async () => {
    const client = new DelegationClient({
      send: () => {
        throw new TypeError('Converting circular structure to JSON');
      },
    });
    await expect(client.delegate('')).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' });
    await expect(client.delegate('x', 1, { timeout: 0 })).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' });
    await expect(client.delegate('x', 1)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT', message: expect.stringContaining('circular') });
    expect(client.pendingCount()).toBe(0);
    expect(() => client.subscribe('x', 'nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' }));
  });

  it('consumes only its own message types', () => {
    const client = new DelegationClient({ send: () => {} });
    expect(client.onMessage({ type: 'cluster2:reply', requestId: 'unknown', result: 1 })).toBe(true);
    expect(client.onMessage({ type: 'cluster2:notify', event: 'x', data: 1 })).toBe(true);
    expect(client.onMessage({ type: 'config-value', key: 'db' })).toBe(false);
    expect(client.onMessage({ cluster2: 1, kind: 'stats' })).toBe(false);
    expect(client.onMessage('text')).toBe(false);
    expect(client.onMessage(null)).toBe(false);
  });
});

describe('subscribe() and notify()', () => {
  it('notifies only subscribed workers and unsubscribes when the last listener goes', async () => {
    const h = createHarness([101, 102]);
    const heard: Array<[string, unknown]> = [];
    const offA = h.client(101).subscribe('config:changed', (data) => heard.push(['a', data]));
    const offB = h.client(101).subscribe('config:changed', (data) => heard.push(['b', data]));
    await until(() => h.router.subscriberCount('config:changed') === 1);
    expect(h.router.notify('config:changed', { version: 2 })).toBe(1);
    await until(() => heard.length === 2);
    expect(heard).toEqual([
      ['a', { version: 2 }],
      ['b', { version: 2 }],
    ]);
    expect(h.received(102)).toEqual([]);
    offA();
    offA();
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.router.subscriberCount('config:changed')).toBe(1);
    offB();
    await until(() => h.router.subscriberCount('config:changed') === 0);
    expect(h.router.notify('config:changed', { version: 3 })).toBe(0);
  });

  it('keeps notifying the other listeners when one throws, and reports it', async () => {
    const warnings: string[] = [];
    const client = new DelegationClient({ send: () => {}, warn: (message) => warnings.push(message) });
    const heard: unknown[] = [];
    client.subscribe('x', () => {
      throw new Error('listener bug');
    });
    client.subscribe('x', (data) => heard.push(data));
    client.onMessage({ type: 'cluster2:notify', event: 'x', data: 5 });
    expect(heard).toEqual([5]);
    expect(warnings).toEqual(['a listener for "x" threw: listener bug']);
  });

  it('forgets the subscriptions of a worker that exits', async () => {
    const h = createHarness([101]);
    h.client(101).subscribe('e', () => {});
    await until(() => h.router.subscriberCount('e') === 1);
    h.router.onWorkerExit(101);
    expect(h.router.subscriberCount('e')).toBe(0);
  });
});

describe('malformed messages reaching the master', () => {
  it('warns, ignores them and never throws', () => {
    const h = createHarness([101], { reservedEvents: ['died'] });
    const malformed = [
      { type: 'delegate' },
      { type: 'delegate', delegate: '' },
      { type: 'delegate', delegate: 42 },
      { type: 'delegate', delegate: 'x', expect: 7 },
      { type: 'delegate', delegate: 'x', expect: 'y', matches: 'key' },
      { type: 'delegate', delegate: 'x', expect: 'y', matches: [1] },
      { type: 'delegate', delegate: 'x', expect: 'y', timeout: 'soon' },
      { type: 'delegate', delegate: 'x', expect: 'y', timeOut: -1 },
      { type: 'delegate', delegate: 'x', expect: 'y', timeout: 2 ** 31 },
      { type: 'delegate', delegate: 'x', expect: 'y', targets: 'all' },
      { type: 'delegate', delegate: 'x', expect: 'y', targets: [1.5] },
      { type: 'delegate', delegate: 'x', notification: 'yes' },
      { type: 'delegate', delegate: 'error' },
      { type: 'delegate', delegate: 'x', expect: 'error' },
      { type: 'delegate', delegate: 'died' },
      { type: 'delegate', delegate: 'loop', expect: 'loop' },
      { type: 'cluster2:subscribe' },
      { type: 'cluster2:unsubscribe', event: 3 },
    ];
    for (const message of malformed) expect(h.router.onMessage(101, message)).toBe(true);
    expect(h.warnings).toHaveLength(malformed.length);
    expect(h.warnings.every((warning) => warning.pid === 101)).toBe(true);
    expect(h.warnings[6]!.message).toContain('"timeout"');
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.eventNames()).toEqual([]);
  });

  it('leaves other messages to the caller', () => {
    const h = createHarness([101]);
    for (const message of [null, 'delegate', 42, [], { cluster2: 1, kind: 'stats' }, { type: 'config-value' }]) {
      expect(h.router.onMessage(101, message)).toBe(false);
    }
    expect(h.warnings).toEqual([]);
  });
});

describe('single process (cluster: false)', () => {
  it('runs delegate, handle, subscribe and notify in-process with the same semantics', async () => {
    const emitter = new EventEmitter();
    const { router, client, pid } = createInProcessDelegation(emitter);
    expect(pid).toBe(process.pid);
    router.handle('config:read', (payload: { key: string }, context) => ({ key: payload.key, pid: context.pid }));
    expect(await client.delegate('config:read', { key: 'db' })).toEqual({ key: 'db', pid: process.pid });
    await expect(client.delegate('missing')).rejects.toMatchObject({ code: 'ERR_CLUSTER2_NO_HANDLER' });
    const heard: unknown[] = [];
    client.subscribe('config:changed', (data) => heard.push(data));
    await until(() => router.subscriberCount('config:changed') === 1);
    router.notify('config:changed', { version: 2 });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ version: 2 }]);
  });

  // Regression: the subscription reached the in-process router on a later turn
  // (setImmediate), so a notify() in the same tick found no subscriber and fn was never called.
  it('delivers a notify() made in the same tick as subscribe() (in-process subscription arrived a turn late)', async () => {
    const c = new Cluster({ cluster: false, monitor: false, pids: false });
    const heard: unknown[] = [];
    const off = c.subscribe('cfg', (data) => heard.push(data));
    expect(c.notify('cfg', { v: 1 })).toBe(1);
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ v: 1 }]);
    off();
    // Unsubscribing takes effect at once too: nobody is left to notify.
    expect(c.notify('cfg', { v: 2 })).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([{ v: 1 }]);
  });

  it('answers raw requests posted in-process through onRawAnswer', async () => {
    const emitter = new EventEmitter();
    const answers: object[] = [];
    const local = createInProcessDelegation(emitter, { onRawAnswer: (message) => answers.push(message) });
    emitter.on('config-read', (message: { key: string }) => emitter.emit('config-value', { key: message.key, value: 1 }));
    local.post({ type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key'], key: 'db' });
    await until(() => answers.length === 1);
    expect(answers).toEqual([{ type: 'config-value', key: 'db', value: 1 }]);
  });

  it('rejects a payload that could not cross IPC, at the call', async () => {
    const { router, client } = createInProcessDelegation(new EventEmitter());
    router.handle('fn', () => 1);
    await expect(client.delegate('fn', { callback: () => {} })).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' });
  });
});
