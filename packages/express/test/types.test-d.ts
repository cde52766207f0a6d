import type { Cluster } from '@cluster2/core';
import express, { type RequestHandler } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import { cluster2, listen, type Cluster2Options } from '../src/index.js';

describe('types', () => {
  it('req.cluster2 is the serving Cluster, with delegate and subscribe', () => {
    const app = express();
    app.get('/', (req, res) => {
      expectTypeOf(req.cluster2).toEqualTypeOf<Cluster | undefined>();
      expectTypeOf(req.cluster2!.delegate).toBeFunction();
      expectTypeOf(req.cluster2!.subscribe).toBeFunction();
      expectTypeOf(req.cluster2!.ready).toBeFunction();
      res.end();
    });
  });

  it('cluster2() is a middleware and listen() resolves with the Cluster', () => {
    expectTypeOf(cluster2).parameter(0).toEqualTypeOf<Cluster2Options | undefined>();
    expectTypeOf(cluster2()).toExtend<RequestHandler>();
    expectTypeOf(listen).returns.resolves.toEqualTypeOf<Cluster>();
    // The app, or a function that builds it (sync or async), called only in workers.
    expectTypeOf(listen).toBeCallableWith(express(), { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(() => express(), { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(async () => express());
    // @ts-expect-error: the function must build an Express app
    expectTypeOf(listen).toBeCallableWith(() => 42);
    // @ts-expect-error: cluster2() takes only the per-worker options
    cluster2({ port: 3000 });
  });
});
