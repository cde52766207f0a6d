import type { Cluster } from '@cluster2/core';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import { cluster2Koa, listen, type Cluster2KoaOptions } from '../src/index.js';

describe('types', () => {
  it('ctx.cluster2 is the serving Cluster, with delegate and subscribe', () => {
    const app = new Koa();
    app.use(async (ctx) => {
      expectTypeOf(ctx.cluster2).toEqualTypeOf<Cluster | undefined>();
      expectTypeOf(ctx.cluster2!.delegate).toBeFunction();
      expectTypeOf(ctx.cluster2!.subscribe).toBeFunction();
    });
  });

  it('cluster2Koa() returns the app it was given and listen() resolves with the Cluster', () => {
    const app = new Koa<{ user: string }>();
    expectTypeOf(cluster2Koa(app)).toEqualTypeOf<Koa<{ user: string }>>();
    expectTypeOf(cluster2Koa).parameter(1).toEqualTypeOf<Cluster2KoaOptions | undefined>();
    expectTypeOf(listen).returns.resolves.toEqualTypeOf<Cluster>();
    // The app, or a function that builds it (sync or async), called only in workers.
    expectTypeOf(listen).toBeCallableWith(app, { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(() => new Koa(), { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(async () => cluster2Koa(new Koa()));
    // @ts-expect-error: the function must build a Koa app
    expectTypeOf(listen).toBeCallableWith(() => 'app');
    // @ts-expect-error: cluster2Koa() takes only the per-worker options
    cluster2Koa(app, { noWorkers: 2 });
  });
});
