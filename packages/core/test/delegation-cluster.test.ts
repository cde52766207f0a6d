import { afterEach, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { Fixture, killAll, request, until } from './helpers.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

function start(options: object = {}): Fixture {
  const fixture = new Fixture('delegation-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, pids: false, noWorkers: 2, ...options });
  running.push(fixture);
  return fixture;
}

const delegate = (port: number, event: string, payload: unknown, timeout = 2000) =>
  request(port, `/delegate?event=${encodeURIComponent(event)}&payload=${encodeURIComponent(JSON.stringify(payload))}&timeout=${timeout}`, {
    headers: { connection: 'close' },
  }).then((a) => ({ ...a, json: JSON.parse(a.body) as Record<string, any> }));

describe('delegation across real workers', () => {
  it('coalesces concurrent identical requests from 2 workers into one handler call', async () => {
    const f = start();
    const port = await f.ready();
    // Round-robin hands consecutive connections to alternate workers.
    const [a, b] = await Promise.all([delegate(port, 'config:read', { key: 'db' }), delegate(port, 'config:read', { key: 'db' })]);
    expect(new Set([a.headers['x-worker-pid'], b.headers['x-worker-pid']]).size).toBe(2);
    expect(a.json.result).toEqual(b.json.result);
    expect(a.json.result).toMatchObject({ key: 'db', value: 'value-of-db', calls: 1 });
    const [c, d] = await Promise.all([delegate(port, 'config:read', { key: 'x' }), delegate(port, 'config:read', { key: 'y' })]);
    expect([c.json.result.calls, d.json.result.calls].sort()).toEqual([2, 3]);
  });

  it('rejects with the handler error code, NO_HANDLER at once, and DELEGATE_TIMEOUT', async () => {
    const f = start();
    const port = await f.ready();
    const failed = await delegate(port, 'config:read', { key: 'boom' });
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ code: 'E_NO_KEY', message: 'no such key' });
    const askedAt = Date.now();
    const missing = await delegate(port, 'nobody:handles', {});
    expect(missing.json.code).toBe('ERR_CLUSTER2_NO_HANDLER');
    expect(Date.now() - askedAt).toBeLessThan(1000);
    const slow = await delegate(port, 'config:read', { key: 'late' }, 100);
    expect(slow.json.code).toBe('ERR_CLUSTER2_DELEGATE_TIMEOUT');
  });

  it('keeps the 0.4 wire format: raw process.send answered by c.on / c.emit, matched on several fields', async () => {
    const f = start();
    const port = await f.ready();
    const answer = JSON.parse((await request(port, '/raw?id=r1')).body);
    expect(answer).toEqual({ type: 'raw-answer', id: 'r1', kind: 'k', value: 'raw-r1' });
  });

  it('notify reaches every subscribed worker', async () => {
    const f = start();
    const port = await f.ready();
    f.child.send({ call: 'notify', event: 'config:changed', data: { version: 2 } });
    const notified = await f.waitFor('notified');
    expect(notified).toMatchObject({ count: 2 });
    const seen = new Map<string, unknown>();
    await until(
      async () => {
        const res = await request(port, '/last-notification', { headers: { connection: 'close' } });
        seen.set(res.headers['x-worker-pid'] as string, JSON.parse(res.body).lastNotification);
        return seen.size === 2;
      },
      5000,
      'both workers to answer',
    );
    for (const value of seen.values()) expect(value).toEqual({ version: 2 });
  });

  it('concurrent requests from 2 workers with distinct payloads each get their own, live and from the ttl cache', async () => {
    // Payloads JSON tells apart (node's IPC sends JSON); the in-process suite covers those it cannot.
    const payloads: unknown[] = [null, 1, '1', [1], {}, [], { n: null }, { n: 1 }, { n: '1' }, { n: [1] }, { n: {} }, { n: true }, { n: 'true' }, { m: 1 }];
    const asked = [...payloads, ...payloads];
    const port = await start().ready();
    const echo = async (payload: unknown) => {
      const answer = await delegate(port, 'echo', payload, 10_000);
      expect(answer.status).toBe(200);
      return answer.json.result as { echo: unknown; run: number };
    };
    const own = (results: Array<{ echo: unknown }>) =>
      results.flatMap((r, i) => (isDeepStrictEqual(r.echo, asked[i]) ? [] : [{ i, got: r.echo, asked: asked[i] }]));
    const live = await Promise.all(asked.map(echo));
    expect(own(live)).toEqual([]);
    // One run per distinct payload: the second of each pair joined the first (or hit its cache).
    expect(new Set(live.map((r) => r.run)).size).toBe(payloads.length);
    const cached = await Promise.all(asked.map(echo));
    expect(own(cached)).toEqual([]);
    // The same runs answered: from the cache, matched to the right payload.
    expect(cached.map((r) => r.run)).toEqual(live.map((r) => r.run));
  });
});
