import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import cluster2Default, { cluster2Plugin, listen, type Cluster2PluginOptions } from '../src/index.js';

// inject() has no real socket: no local address or port.
const AVAILABLE = /^status=AVAILABLE&ServeTraffic=true&ip=&hostname=.+&port=&time=.+$/;
const DISABLED = /^status=DISABLED&ServeTraffic=false&ip=&hostname=.+&port=&time=.+$/;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** A small app: the plugin, then the app's own hook, routes and error handler. */
async function app(options: Cluster2PluginOptions = {}, mounts = 1): Promise<FastifyInstance> {
  const a = Fastify();
  apps.push(a);
  for (let i = 0; i < mounts; i++) await a.register(cluster2Plugin, options);
  a.addHook('onSend', async (_request, reply) => {
    reply.header('x-app', 'yes');
  });
  a.get('/', async (request) => ({ hello: 'world', cluster: request.cluster2 === undefined ? 'none' : 'some' }));
  a.get('/error', async () => {
    throw new Error('boom');
  });
  a.setErrorHandler(async (error, _request, reply) => reply.code(500).send({ handledBy: 'app', message: (error as Error).message }));
  return a;
}

describe('ECV without a running cluster (standalone state)', () => {
  it('answers GET /ecv with 200, the ECV headers and the AVAILABLE body', async () => {
    const res = await (await app()).inject('/ecv');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(AVAILABLE);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['x-powered-by']).toBe('Cluster2');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(new Date(res.headers.since as string).getTime()).not.toBeNaN();
  });

  it('answers HEAD /ecv (exposeHeadRoutes) with the headers and no body', async () => {
    const res = await (await app()).inject({ method: 'HEAD', url: '/ecv' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-powered-by']).toBe('Cluster2');
    expect(res.body).toBe('');
  });

  it('answers /ecv/live with 200 whatever the switch says', async () => {
    const a = await app({ ecv: { control: true } });
    expect((await a.inject({ method: 'POST', url: '/ecv/disable' })).statusCode).toBe(204);
    const res = await a.inject('/ecv/live');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('status=ALIVE');
  });

  it('disable and enable flip the standalone state', async () => {
    const a = await app({ ecv: { control: true } });
    const disabled = await a.inject({ method: 'POST', url: '/ecv/disable' });
    expect(disabled.statusCode).toBe(204);
    expect(disabled.headers['x-powered-by']).toBe('Cluster2');
    const down = await a.inject('/ecv');
    expect(down.statusCode).toBe(400);
    expect(down.body).toMatch(DISABLED);
    expect((await a.inject({ method: 'POST', url: '/ecv/enable' })).statusCode).toBe(204);
    const up = await a.inject('/ecv');
    expect(up.statusCode).toBe(200);
    expect(up.body).toMatch(AVAILABLE);
  });

  it('serves ecv.path and ecv.disabledStatus as given', async () => {
    const a = await app({ ecv: { path: '/health', control: true, disabledStatus: 503 } });
    expect((await a.inject('/health')).statusCode).toBe(200);
    await a.inject({ method: 'POST', url: '/health/disable' });
    expect((await a.inject('/health')).statusCode).toBe(503);
    expect((await a.inject('/ecv')).statusCode).toBe(404);
  });

  it('answers wrong methods with 405 and Allow, and the control routes with 404 when control is off', async () => {
    const a = await app({ ecv: { control: true } });
    const put = await a.inject({ method: 'PUT', url: '/ecv' });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
    const del = await a.inject({ method: 'DELETE', url: '/ecv/live' });
    expect(del.statusCode).toBe(405);
    const get = await a.inject('/ecv/disable');
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await (await app()).inject({ method: 'POST', url: '/ecv/disable' })).statusCode).toBe(404);
  });

  it('registering twice is harmless', async () => {
    const a = await app({ ecv: { control: true } }, 2);
    expect((await a.inject('/ecv')).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: '/ecv/disable' })).statusCode).toBe(204);
    expect((await a.inject('/ecv')).statusCode).toBe(400);
  });

  it("the default export is the plugin, as with fastify's own plugins", () => {
    expect(cluster2Default).toBe(cluster2Plugin);
    expect((cluster2Plugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')]).toBe('@cluster2/fastify');
  });
});

describe('ECV routes are real fastify routes', () => {
  it('printRoutes() lists them', async () => {
    const a = await app();
    await a.ready();
    const routes = a.printRoutes({ commonPrefix: false });
    expect(routes).toMatch(/ecv \(GET, DELETE, OPTIONS, PATCH, POST, PUT, HEAD\)/);
    expect(routes).toMatch(/\/live \(GET, DELETE, OPTIONS, PATCH, POST, PUT, HEAD\)/);
    expect(routes).toMatch(/\/enable \(POST, DELETE, GET, OPTIONS, PATCH, PUT, HEAD\)/);
    expect(routes).toMatch(/\/disable \(POST, DELETE, GET, OPTIONS, PATCH, PUT, HEAD\)/);
  });

  it('an onRequest hook sees ECV requests', async () => {
    const a = Fastify();
    apps.push(a);
    const seen: string[] = [];
    a.addHook('onRequest', async (request) => {
      seen.push(`${request.method} ${request.url}`);
    });
    await a.register(cluster2Plugin, { ecv: { control: true } });
    await a.inject('/ecv');
    await a.inject({ method: 'POST', url: '/ecv/disable' });
    expect(seen).toEqual(['GET /ecv', 'POST /ecv/disable']);
  });

  it('decorates the instance and the request with cluster2 (undefined without a running cluster)', async () => {
    const a = await app();
    expect(a.hasDecorator('cluster2')).toBe(true);
    expect(a.hasRequestDecorator('cluster2')).toBe(true);
    expect(a.cluster2).toBeUndefined();
    expect((await a.inject('/')).json()).toEqual({ hello: 'world', cluster: 'none' });
  });
});

describe("the app's own behaviour is unaffected", () => {
  it('routes, hooks, error handler and 404 answer as without cluster2', async () => {
    const a = await app();
    const root = await a.inject('/');
    expect(root.statusCode).toBe(200);
    expect(root.headers['x-app']).toBe('yes');
    expect(root.json()).toEqual({ hello: 'world', cluster: 'none' });
    const error = await a.inject('/error');
    expect(error.statusCode).toBe(500);
    expect(error.json()).toEqual({ handledBy: 'app', message: 'boom' });
    const missing = await a.inject('/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, message: 'Route GET:/nope not found' });
  });

  it("closes cleanly: the app's onClose hooks run on app.close()", async () => {
    const a = await app();
    let closed = false;
    a.addHook('onClose', async () => {
      closed = true;
    });
    await a.ready();
    await a.close();
    expect(closed).toBe(true);
  });
});

describe('an app left un-booted, as in the master', () => {
  it('loads none of its plugins, holds no timer or handle, and raises nothing, when nothing calls ready()', async () => {
    // Timers and sockets only: vitest's own immediates and pipes come and go.
    const held = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind.startsWith('TCP')).length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = held();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let loaded = 0;
      const a = Fastify();
      // Not pushed to apps: closing it would boot it.
      a.register(async (instance) => {
        loaded++;
        const timer = setInterval(() => {}, 1000);
        instance.addHook('onClose', async () => clearInterval(timer));
      });
      a.register(async () => {
        throw new Error('a plugin that fails as it loads');
      });
      a.register(cluster2Plugin, { ecv: { control: true } });
      a.get('/', async () => 'never served');
      // Longer than avvio's own ticks, far shorter than its pluginTimeout.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(loaded).toBe(0);
      expect(a.hasDecorator('cluster2')).toBe(false);
      expect(a.server.listening).toBe(false);
      expect(held()).toBeLessThanOrEqual(before);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('options', () => {
  it('rejects an unknown option naming it', async () => {
    const a = Fastify();
    apps.push(a);
    await expect(a.register(cluster2Plugin, { port: 3000 } as Cluster2PluginOptions)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_UNKNOWN_OPTION',
      message: expect.stringContaining('"port"'),
    });
  });

  it('rejects an invalid ECV option naming it', async () => {
    const a = Fastify();
    apps.push(a);
    await expect(a.register(cluster2Plugin, { ecv: { disabledStatus: 200 } })).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: expect.stringContaining('ecv.disabledStatus'),
    });
  });

  it('listen() refuses an ecv.path the registered plugin does not serve, before starting anything', async () => {
    const a = await app();
    // In-process settings, should the check ever let it through: no fork, no fixed port.
    const options = { cluster: false, port: 0, pids: false, monitor: false, ecv: { path: '/health' } } as const;
    await expect(listen(a, options)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('"/ecv"') });
    expect(a.server.listening).toBe(false);
  });

  it('listen() refuses what is neither a Fastify instance nor a function that builds one, naming what it takes', async () => {
    await expect(listen('app' as never)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_FACTORY',
      message: expect.stringContaining('listen() takes a Fastify instance or a function that builds one'),
    });
  });

  it('listen() builds and boots the app with the function it was given, before anything listens', async () => {
    // In-process settings, should a check ever let it through: no fork, no fixed port.
    const options = { cluster: false, port: 0, pids: false, monitor: false, ecv: { path: '/health' } } as const;
    let booted = 0;
    let built: FastifyInstance | undefined;
    const build = () => {
      built = Fastify();
      apps.push(built);
      built.register(async () => {
        booted++;
      });
      built.register(cluster2Plugin);
      return built;
    };
    // The app's plugin serves /ecv, which only the booted app can tell: it fails the path check.
    await expect(listen(build, options)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('"/ecv"') });
    expect(booted).toBe(1);
    expect(built!.server.listening).toBe(false);
  });
});
