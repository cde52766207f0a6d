import { describe, expect, it, onTestFinished } from 'vitest';
import { createHarness, until } from './delegation-harness.js';

describe('raw 0.4 delegation in the master', () => {
  it('emits a fire-and-forget request on the Cluster with the whole message and the pid, and sends nothing back', async () => {
    const h = createHarness([101]);
    const seen: unknown[][] = [];
    h.emitter.on('remote-log', (...args) => seen.push(args));
    const request = { type: 'delegate', delegate: 'remote-log', level: 'info', line: 'hello' };
    h.post(101, request);
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual([request, { pid: 101 }]);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.received(101)).toEqual([]);
  });

  it('keeps the 0.4 listener signature (message) working', async () => {
    const h = createHarness([101]);
    h.emitter.on('config-read', (message: { key: string }) => h.emitter.emit('config-value', { key: message.key, value: 42 }));
    h.post(101, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key'], key: 'db' });
    const answer = await h.next(101, (m) => m.type === 'config-value');
    expect(answer).toEqual({ type: 'config-value', key: 'db', value: 42 });
  });

  it('delivers only the first answer whose matches fields all equal the request, then forgets the request', async () => {
    const h = createHarness([101]);
    h.emitter.on('config-read', () => {
      setImmediate(() => {
        h.emitter.emit('config-value', { key: 'db', env: 'dev', value: 'wrong env' });
        h.emitter.emit('config-value', { key: 'cache', env: 'prod', value: 'wrong key' });
        h.emitter.emit('config-value', { key: 'db', env: 'prod', value: 'right' });
        h.emitter.emit('config-value', { key: 'db', env: 'prod', value: 'second, too late' });
      });
    });
    h.post(101, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key', 'env'], key: 'db', env: 'prod' });
    await h.next(101, (m) => m.type === 'config-value');
    await until(() => h.router.pendingCount() === 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.received(101)).toEqual([{ type: 'config-value', key: 'db', env: 'prod', value: 'right' }]);
    expect(h.emitter.listenerCount('config-value')).toBe(0);
  });

  it('answers the request itself with type: expect and a serialisable timeout error', async () => {
    const h = createHarness([101]);
    h.emitter.on('slow', () => {});
    const started = Date.now();
    h.post(101, { type: 'delegate', delegate: 'slow', expect: 'slow-done', matches: ['id'], id: 7, timeout: 50 });
    const answer = await h.next(101, (m) => m.type === 'slow-done');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(answer).toEqual({
      type: 'slow-done',
      delegate: 'slow',
      expect: 'slow-done',
      matches: ['id'],
      id: 7,
      timeout: 50,
      error: { code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT', message: 'no answer to "slow" within 50 ms' },
    });
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('slow-done')).toBe(0);
  });

  it('reads the 0.4 spelling timeOut', async () => {
    const h = createHarness([101]);
    h.emitter.on('slow', () => {});
    h.post(101, { type: 'delegate', delegate: 'slow', expect: 'slow-done', timeOut: 30 });
    const answer = await h.next(101, (m) => m.type === 'slow-done', 1000);
    expect(answer.error).toEqual({ code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT', message: 'no answer to "slow" within 30 ms' });
  });

  it('with notification: true keeps forwarding later matching answers, with no timeout error after the first', async () => {
    const h = createHarness([101]);
    h.emitter.on('watch-config', () => {});
    h.post(101, { type: 'delegate', delegate: 'watch-config', expect: 'config-changed', matches: ['key'], key: 'db', notification: true, timeout: 40 });
    await until(() => h.router.pendingCount() === 1);
    h.emitter.emit('config-changed', { key: 'db', version: 1 });
    h.emitter.emit('config-changed', { key: 'other', version: 99 });
    await h.next(101, (m) => m.version === 1);
    // Longer than the request's timeout: a notification request never times out once answered.
    await new Promise((resolve) => setTimeout(resolve, 80));
    h.emitter.emit('config-changed', { key: 'db', version: 2 });
    h.emitter.emit('config-changed', { key: 'db', version: 3 });
    await h.next(101, (m) => m.version === 3);
    expect(h.received(101).map((m) => [m.type, m.version, m.error])).toEqual([
      ['config-changed', 1, undefined],
      ['config-changed', 2, undefined],
      ['config-changed', 3, undefined],
    ]);
    expect(h.router.pendingCount()).toBe(1);
    h.router.onWorkerExit(101);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('config-changed')).toBe(0);
  });

  it('sends the answer to the asking worker and to every pid in targets, once each', async () => {
    const h = createHarness([101, 102, 103]);
    h.emitter.on('token', () => h.emitter.emit('token-value', { token: 'abc' }));
    h.post(101, { type: 'delegate', delegate: 'token', expect: 'token-value', targets: [102, 101, 102] });
    await h.next(101, (m) => m.type === 'token-value');
    await h.next(102, (m) => m.type === 'token-value');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.received(101)).toEqual([{ type: 'token-value', token: 'abc' }]);
    expect(h.received(102)).toEqual([{ type: 'token-value', token: 'abc' }]);
    expect(h.received(103)).toEqual([]);
  });

  it('answers ERR_CLUSTER2_NO_HANDLER at once when nothing listens for the event', async () => {
    const h = createHarness([101]);
    const started = Date.now();
    h.post(101, { type: 'delegate', delegate: 'nobody-home', expect: 'reply', matches: ['n'], n: 1 });
    const answer = await h.next(101, (m) => m.type === 'reply');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(answer.error.code).toBe('ERR_CLUSTER2_NO_HANDLER');
    expect(answer.error.message).toContain('"nobody-home"');
    expect(answer.n).toBe(1);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('reply')).toBe(0);
  });

  it('answers at once with the error when a listener throws, and keeps the master up', async () => {
    const h = createHarness([101]);
    h.emitter.on('explode', () => {
      throw Object.assign(new Error('boom'), { code: 'E_BOOM' });
    });
    h.post(101, { type: 'delegate', delegate: 'explode', expect: 'exploded' });
    const answer = await h.next(101, (m) => m.type === 'exploded');
    expect(answer.error).toMatchObject({ code: 'E_BOOM', message: 'boom' });
    expect(h.warnings.map((w) => w.pid)).toEqual([101]);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('exploded')).toBe(0);
  });

  it('drops everything pending for a worker that exits mid-request', async () => {
    const h = createHarness([101, 102]);
    h.emitter.on('config-read', () => {});
    h.post(101, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key'], key: 'a' });
    h.post(101, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key'], key: 'b', timeout: 60 });
    h.post(102, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['key'], key: 'a' });
    await until(() => h.router.pendingCount() === 3);
    h.router.onWorkerExit(101);
    expect(h.router.pendingCount()).toBe(1);
    expect(h.emitter.listenerCount('config-value')).toBe(1);
    h.emitter.emit('config-value', { key: 'a', value: 1 });
    await h.next(102, (m) => m.type === 'config-value');
    // Past the dropped request's timeout: no timeout answer may reach the dead worker either.
    await new Promise((resolve) => setTimeout(resolve, 90));
    expect(h.received(101)).toEqual([]);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('config-value')).toBe(0);
  });

  it('shares one Cluster listener among many concurrent requests for one expect event', async () => {
    const h = createHarness([101, 102]);
    const processWarnings: Error[] = [];
    const onWarning = (warning: Error): void => void processWarnings.push(warning);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    h.emitter.on('config-read', () => {});
    for (let n = 0; n < 50; n++) h.post(100 + (n % 2) + 1, { type: 'delegate', delegate: 'config-read', expect: 'config-value', matches: ['n'], n });
    await until(() => h.router.pendingCount() === 50);
    expect(h.emitter.listenerCount('config-value')).toBe(1);
    for (let n = 49; n >= 0; n--) h.emitter.emit('config-value', { n, value: n * 2 });
    await until(() => h.received(101).length + h.received(102).length === 50);
    expect(h.received(101).map((m) => m.n)).toEqual(Array.from({ length: 25 }, (_, i) => 48 - 2 * i));
    expect(h.received(102).every((m) => m.value === m.n * 2 && m.n % 2 === 1)).toBe(true);
    expect(h.emitter.listenerCount('config-value')).toBe(0);
    expect(h.router.pendingCount()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(processWarnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('leaves no listener and nothing pending after 10 000 sequential delegations', async () => {
    const h = createHarness([101]);
    h.emitter.on('echo', (message: { n: number }) => h.emitter.emit('echoed', { n: message.n }));
    for (let n = 0; n < 10_000; n++) {
      h.post(101, { type: 'delegate', delegate: 'echo', expect: 'echoed', matches: ['n'], n });
      await h.next(101, (m) => m.n === n);
      h.received(101).length = 0;
    }
    expect(h.emitter.listenerCount('echoed')).toBe(0);
    expect(h.router.pendingCount()).toBe(0);
  }, 30_000);
});
