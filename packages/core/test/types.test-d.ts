import { describe, expectTypeOf, it } from 'vitest';
import { Cluster, type ClusterStatus, type RecycleReason } from '../src/index.js';

describe('Cluster types', () => {
  it('types the event map', () => {
    const c = new Cluster({ monitor: false });
    c.on('forked', (pid) => expectTypeOf(pid).toEqualTypeOf<number>());
    c.on('died', (pid, code, signal) => {
      expectTypeOf(pid).toEqualTypeOf<number>();
      expectTypeOf(code).toEqualTypeOf<number | null>();
      expectTypeOf(signal).toEqualTypeOf<string | null>();
    });
    c.on('recycled', (_pid, reason) => expectTypeOf(reason).toEqualTypeOf<RecycleReason>());
    c.on('giveup', (reason) => expectTypeOf(reason).toEqualTypeOf<string>());
    // Raw 0.4 delegation events are free-form strings on the same emitter.
    c.on('config-read', (message: { key: string }) => c.emit('config', { key: message.key }));
  });

  it('lets payload and result types flow through delegation', async () => {
    const c = new Cluster({ monitor: false });
    c.handle<{ key: string }, { value: number }>('config:read', (payload, context) => {
      expectTypeOf(payload.key).toEqualTypeOf<string>();
      expectTypeOf(context.pid).toEqualTypeOf<number>();
      return { value: 1 };
    });
    const result = await c.delegate<{ value: number }, { key: string }>('config:read', { key: 'db' }, { timeout: 100 });
    expectTypeOf(result.value).toEqualTypeOf<number>();
    const off = c.subscribe<{ version: number }>('config:changed', (data) => expectTypeOf(data.version).toEqualTypeOf<number>());
    expectTypeOf(off).toEqualTypeOf<() => void>();
    expectTypeOf(c.notify('x', 1)).toEqualTypeOf<number>();
  });

  it('accepts both factory styles and returns the ports', () => {
    const c = new Cluster({ monitor: false });
    expectTypeOf(c.listen).parameter(0).toBeFunction();
    expectTypeOf(c.listen(async () => ({}) as import('node:net').Server)).resolves.toEqualTypeOf<number[]>();
    expectTypeOf(c.status()).toEqualTypeOf<ClusterStatus | undefined>();
  });
});
