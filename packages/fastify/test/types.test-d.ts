import type { Cluster } from '@cluster2/core';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import { cluster2Plugin, listen, type Cluster2PluginOptions } from '../src/index.js';

describe('types', () => {
  it('app.cluster2 and request.cluster2 are the serving Cluster, with delegate and subscribe', () => {
    const app = Fastify();
    expectTypeOf(app.cluster2).toEqualTypeOf<Cluster | undefined>();
    app.get('/', async (request) => {
      expectTypeOf(request.cluster2).toEqualTypeOf<Cluster | undefined>();
      expectTypeOf(request.cluster2!.delegate).toBeFunction();
      expectTypeOf(request.cluster2!.subscribe).toBeFunction();
      return 'ok';
    });
  });

  it('the plugin takes the per-worker options and listen() resolves with the Cluster', () => {
    expectTypeOf(cluster2Plugin).toEqualTypeOf<FastifyPluginAsync<Cluster2PluginOptions>>();
    expectTypeOf(listen).returns.resolves.toEqualTypeOf<Cluster>();
    // The instance, or a function that builds it (sync or async), called only in workers.
    expectTypeOf(listen).toBeCallableWith(Fastify(), { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(() => Fastify(), { noWorkers: 2 });
    expectTypeOf(listen).toBeCallableWith(async () => Fastify());
    // @ts-expect-error: the function must build a Fastify instance
    expectTypeOf(listen).toBeCallableWith(() => ({}));
    const app = Fastify();
    void app.register(cluster2Plugin, { ecv: { control: true }, idleGrace: 100 });
    // @ts-expect-error: the plugin takes only the per-worker options
    void app.register(cluster2Plugin, { noWorkers: 2 });
  });
});
