import { describe, expect, it } from 'vitest';
import { createHarness, deferred, until } from './delegation-harness.js';

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('typed delegation: handle() and delegate()', () => {
  it('round-trips a payload to the handler and its result back, with the asking pid', async () => {
    const h = createHarness([101]);
    const contexts: unknown[] = [];
    h.router.handle('config:read', async (payload: { key: string }, context) => {
      contexts.push(context);
      return { key: payload.key, url: 'postgres://db' };
    });
    const result = await h.client(101).delegate<{ key: string; url: string }, { key: string }>('config:read', { key: 'db' }, { timeout: 1000 });
    expect(result).toEqual({ key: 'db', url: 'postgres://db' });
    expect(contexts).toEqual([{ pid: 101, event: 'config:read' }]);
    expect(h.router.pendingCount()).toBe(0);
    expect(h.client(101).pendingCount()).toBe(0);
  });

  it('sends the 0.4 wire format, so raw master code can answer a typed request', async () => {
    const h = createHarness([101]);
    const requests: Array<Record<string, unknown>> = [];
    h.emitter.on('legacy', (message: Record<string, unknown>) => {
      requests.push(message);
      h.emitter.emit(message.expect as string, { requestId: message.requestId, result: 'from raw code' });
    });
    await expect(h.client(101).delegate('legacy', { a: 1 }, { timeout: 500 })).resolves.toBe('from raw code');
    expect(requests[0]).toMatchObject({
      type: 'delegate',
      delegate: 'legacy',
      expect: 'cluster2:reply',
      matches: ['requestId'],
      payload: { a: 1 },
      timeout: 500,
    });
    expect(typeof requests[0]!.requestId).toBe('string');
    expect(h.emitter.listenerCount('cluster2:reply')).toBe(0);
  });

  it('runs a typed handler for a raw request too, answering with type: expect and the matches fields', async () => {
    const h = createHarness([101]);
    h.router.handle('sum', (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
    h.post(101, { type: 'delegate', delegate: 'sum', expect: 'sum-result', matches: ['ticket'], ticket: 'T1', payload: [1, 2, 3] });
    const answer = await h.next(101, (m) => m.type === 'sum-result');
    expect(answer).toEqual({ type: 'sum-result', ticket: 'T1', result: 6 });
  });

  it('coalesces concurrent identical delegations from two workers into one handler call', async () => {
    const h = createHarness([101, 102]);
    const gate = deferred<string>();
    let calls = 0;
    h.router.handle('token:refresh', () => {
      calls++;
      return gate.promise;
    });
    // Key order differs: deep-equal payloads are identical requests.
    const first = h.client(101).delegate('token:refresh', { scope: 'read', tenant: 't1' });
    const second = h.client(102).delegate('token:refresh', { tenant: 't1', scope: 'read' });
    await until(() => h.router.pendingCount() === 2);
    gate.resolve('token-1');
    expect(await Promise.all([first, second])).toEqual(['token-1', 'token-1']);
    expect(calls).toBe(1);
  });

  it('runs the handler once per distinct payload', async () => {
    const h = createHarness([101, 102]);
    const gate = deferred<void>();
    const seen: unknown[] = [];
    h.router.handle('token:refresh', async (payload: { tenant: string }) => {
      seen.push(payload);
      await gate.promise;
      return payload.tenant;
    });
    const first = h.client(101).delegate('token:refresh', { tenant: 't1' });
    const second = h.client(102).delegate('token:refresh', { tenant: 't2' });
    await until(() => h.router.pendingCount() === 2);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual(['t1', 't2']);
    expect(seen).toEqual([{ tenant: 't1' }, { tenant: 't2' }]);
  });

  it('with ttl answers identical requests from the cache until the ttl has passed', async () => {
    const h = createHarness([101]);
    let calls = 0;
    h.router.handle('config:read', () => ++calls, { ttl: 100 });
    const client = h.client(101);
    const cachedAt = Date.now();
    expect(await client.delegate('config:read', { key: 'db' })).toBe(1);
    expect(await client.delegate('config:read', { key: 'db' })).toBe(1);
    expect(await client.delegate('config:read', { key: 'other' })).toBe(2);
    let latest = 1;
    while (latest === 1) latest = await client.delegate<number>('config:read', { key: 'db' });
    expect(Date.now() - cachedAt).toBeGreaterThanOrEqual(95);
    expect(latest).toBe(3);
    expect(calls).toBe(3);
  });

  it('rejects with the thrown error code and message', async () => {
    const h = createHarness([101]);
    h.router.handle('coded', () => {
      throw Object.assign(new Error('config file missing'), { code: 'E_NO_CONFIG' });
    });
    h.router.handle('plain', async () => {
      throw new TypeError('bad input');
    });
    const coded = await rejection(h.client(101).delegate('coded'));
    expect([coded.code, coded.message]).toEqual(['E_NO_CONFIG', 'config file missing']);
    const plain = await rejection(h.client(101).delegate('plain'));
    expect([plain.code, plain.message, plain.name]).toEqual(['ERR_CLUSTER2_HANDLER_FAILED', 'bad input', 'TypeError']);
  });

  it('rejects at once with ERR_CLUSTER2_NO_HANDLER, not after the timeout', async () => {
    const h = createHarness([101]);
    const started = Date.now();
    const error = await rejection(h.client(101).delegate('nobody', {}, { timeout: 5000 }));
    expect(error.code).toBe('ERR_CLUSTER2_NO_HANDLER');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("rejects with the master's ERR_CLUSTER2_DELEGATE_TIMEOUT when the handler is too slow", async () => {
    const h = createHarness([101], { timeoutMargin: 10_000 });
    h.router.handle('hang', () => new Promise(() => {}));
    const started = Date.now();
    const error = await rejection(h.client(101).delegate('hang', null, { timeout: 50 }));
    expect(error.code).toBe('ERR_CLUSTER2_DELEGATE_TIMEOUT');
    expect(error.message).toBe('no answer to "hang" within 50 ms');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(h.router.pendingCount()).toBe(0);
  });

  it('a worker that exits mid-request leaks nothing and gets no answer', async () => {
    const h = createHarness([101, 102]);
    const gate = deferred<string>();
    h.router.handle('slow', () => gate.promise);
    void h
      .client(101)
      .delegate('slow', { n: 1 })
      .catch(() => {});
    const survivor = h.client(102).delegate('slow', { n: 1 });
    await until(() => h.router.pendingCount() === 2);
    h.router.onWorkerExit(101);
    expect(h.router.pendingCount()).toBe(1);
    gate.resolve('done');
    expect(await survivor).toBe('done');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.received(101)).toEqual([]);
    expect(h.router.pendingCount()).toBe(0);
  });

  it('starts a fresh run once every waiter of a hung run has gone', async () => {
    const h = createHarness([101]);
    let calls = 0;
    h.router.handle('maybe-hang', () => (++calls === 1 ? new Promise(() => {}) : 'second run'));
    await expect(h.client(101).delegate('maybe-hang', {}, { timeout: 30 })).rejects.toMatchObject({ code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT' });
    await expect(h.client(101).delegate('maybe-hang', {})).resolves.toBe('second run');
    expect(calls).toBe(2);
  });

  it('refuses a second handler for one event and re-allows it after unregistering', () => {
    const h = createHarness([]);
    const off = h.router.handle('x', () => 1);
    expect(() => h.router.handle('x', () => 2)).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' }));
    off();
    off();
    expect(() => h.router.handle('x', () => 3)).not.toThrow();
    expect(() => h.router.handle('', () => 1)).toThrow(expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_ARGUMENT' }));
    expect(() => h.router.handle('y', () => 1, { ttl: -5 })).toThrow(/"ttl"/);
  });

  it('leaves nothing pending after 10 000 sequential typed delegations', async () => {
    const h = createHarness([101]);
    h.router.handle('inc', (n: number) => n + 1);
    const client = h.client(101);
    for (let n = 0; n < 10_000; n++) expect(await client.delegate('inc', n)).toBe(n + 1);
    expect(h.router.pendingCount()).toBe(0);
    expect(client.pendingCount()).toBe(0);
    expect(h.emitter.eventNames()).toEqual([]);
  }, 30_000);
});

describe('typed delegation: edges', () => {
  it('runs a typed handler for a fire-and-forget request and reports its failure as a warning', async () => {
    const h = createHarness([101]);
    const payloads: unknown[] = [];
    h.router.handle('log', (payload: { line: string }) => {
      payloads.push(payload);
      throw new Error('disk full');
    });
    h.post(101, { type: 'delegate', delegate: 'log', payload: { line: 'hi' } });
    await until(() => h.warnings.length === 1);
    expect(payloads).toEqual([{ line: 'hi' }]);
    expect(h.warnings[0]).toEqual({ message: 'handler for "log" failed: disk full', pid: 101 });
    expect(h.received(101)).toEqual([]);
  });

  it('rejects with ERR_CLUSTER2_HANDLER_FAILED when the result cannot be sent, instead of timing out', async () => {
    const h = createHarness([101]);
    h.router.handle('unsendable', () => ({ callback: () => {} }));
    const started = Date.now();
    const error = await rejection(h.client(101).delegate('unsendable', null, { timeout: 5000 }));
    expect(error.code).toBe('ERR_CLUSTER2_HANDLER_FAILED');
    expect(error.message).toContain('could not be sent');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(h.warnings).toHaveLength(1);
  });

  it('close() drops every pending request, listener and handler, and ignores later requests', async () => {
    const h = createHarness([101]);
    h.emitter.on('raw', () => {});
    h.router.handle('typed', () => new Promise(() => {}));
    h.post(101, { type: 'delegate', delegate: 'raw', expect: 'raw-done' });
    void h
      .client(101)
      .delegate('typed')
      .catch(() => {});
    await until(() => h.router.pendingCount() === 2);
    h.router.close();
    expect(h.router.pendingCount()).toBe(0);
    expect(h.emitter.listenerCount('raw-done')).toBe(0);
    expect(h.router.onMessage(101, { type: 'delegate', delegate: 'raw', expect: 'raw-done' })).toBe(true);
    expect(h.router.pendingCount()).toBe(0);
    expect(() => h.router.handle('typed', () => 1)).not.toThrow();
  });
});
