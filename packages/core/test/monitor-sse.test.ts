import { afterEach, describe, expect, it } from 'vitest';
import { makeStatus, makeWorker, openEventStream, startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('GET /api/events', () => {
  it('sends the full status on connect, then lifecycle events emitted after connecting', async () => {
    t = await startTestMonitor();
    const stream = await openEventStream(t.port);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toContain('no-cache');
    await waitFor(() => stream.messages.length >= 1, 2000, 'initial status');
    expect(stream.messages[0]).toMatchObject({ event: 'status', data: { master: { pid: 4100 }, ecv: { state: 'enabled' } } });

    t.source.lifecycle({ type: 'died', pid: 4102, code: 1, signal: null });
    await waitFor(() => stream.messages.some((m) => m.event === 'lifecycle'), 2000, 'lifecycle event');
    expect(stream.messages.find((m) => m.event === 'lifecycle')?.data).toMatchObject({ type: 'died', pid: 4102, code: 1 });
    stream.close();
  });

  it('sends a fresh status after a heartbeat, throttled so a burst yields few events', async () => {
    t = await startTestMonitor();
    const stream = await openEventStream(t.port);
    await waitFor(() => stream.messages.length === 1, 2000, 'initial status');
    t.source.current = makeStatus([makeWorker(4101, 1, { requests: 999 })]);
    for (let i = 0; i < 20; i += 1) t.source.emit('heartbeat', {});
    await waitFor(() => stream.messages.length >= 2, 2000, 'status after heartbeat');
    const statuses = stream.messages.filter((m) => m.event === 'status');
    expect(statuses.at(-1)?.data).toMatchObject({ totals: { requests: 999 } });
    // 20 heartbeats within one throttle window: one immediate send plus at most one trailing send.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(stream.messages.filter((m) => m.event === 'status').length).toBeLessThanOrEqual(3);
    stream.close();
  });

  it('sends keep-alive comments', async () => {
    t = await startTestMonitor({ keepAliveMs: 30 });
    const stream = await openEventStream(t.port);
    await waitFor(() => stream.comments.some((c) => c.startsWith(': ping')), 2000, 'keep-alive comment');
    stream.close();
  });

  it('removes its source listeners when the last client goes away', async () => {
    t = await startTestMonitor();
    const source = t.source;
    expect(source.listenerCount('lifecycle')).toBe(0);
    const first = await openEventStream(t.port);
    const second = await openEventStream(t.port);
    await waitFor(() => first.messages.length === 1 && second.messages.length === 1, 2000, 'both streams');
    // One shared subscription, however many clients.
    expect(source.listenerCount('lifecycle')).toBe(1);
    expect(source.listenerCount('heartbeat')).toBe(1);
    first.close();
    source.lifecycle({ type: 'forked', pid: 4200 });
    await waitFor(() => second.messages.some((m) => m.event === 'lifecycle'), 2000, 'event on the remaining stream');
    expect(source.listenerCount('lifecycle')).toBe(1);
    second.close();
    await waitFor(() => source.listenerCount('lifecycle') === 0 && source.listenerCount('heartbeat') === 0, 2000, 'listeners removed');
  });

  it('answers HEAD with the stream headers and no subscription', async () => {
    t = await startTestMonitor();
    const res = await fetch(`${t.base}/api/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(t.source.listenerCount('lifecycle')).toBe(0);
  });
});
