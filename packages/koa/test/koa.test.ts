import Koa from 'koa';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { cluster2Koa, listen, type Cluster2KoaOptions } from '../src/index.js';

const AVAILABLE = /^status=AVAILABLE&ServeTraffic=true&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;
const DISABLED = /^status=DISABLED&ServeTraffic=false&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;

/** A small app: cluster2Koa first, then the app's own error handler, middleware and routes. */
function app(options?: Cluster2KoaOptions, mounts = 1) {
  const a = new Koa();
  for (let i = 0; i < mounts; i++) cluster2Koa(a, options);
  a.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { handledBy: 'app', message: (error as Error).message };
    }
  });
  a.use(async (ctx, next) => {
    ctx.set('x-app', 'yes');
    await next();
  });
  a.use(async (ctx, next) => {
    if (ctx.path === '/') ctx.body = { hello: 'world', cluster: ctx.cluster2 === undefined ? 'none' : 'some' };
    else if (ctx.path === '/error') throw new Error('boom');
    else await next();
  });
  return a.callback();
}

describe('ECV without a running cluster (standalone state)', () => {
  it('answers GET /ecv with 200, the ECV headers and the AVAILABLE body', async () => {
    const res = await request(app()).get('/ecv');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(AVAILABLE);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['x-powered-by']).toBe('Cluster2');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(new Date(res.headers.since!).getTime()).not.toBeNaN();
  });

  it('answers HEAD /ecv with the status and headers but no body', async () => {
    const res = await request(app()).head('/ecv');
    expect(res.status).toBe(200);
    expect(res.headers['x-powered-by']).toBe('Cluster2');
    expect(res.text).toBeUndefined();
  });

  it('answers /ecv/live with 200 whatever the switch says', async () => {
    const a = app({ ecv: { control: true } });
    expect((await request(a).post('/ecv/disable')).status).toBe(204);
    const res = await request(a).get('/ecv/live');
    expect(res.status).toBe(200);
    expect(res.text).toBe('status=ALIVE');
  });

  it('disable and enable flip the standalone state', async () => {
    const a = app({ ecv: { control: true } });
    const disabled = await request(a).post('/ecv/disable');
    expect(disabled.status).toBe(204);
    expect(disabled.headers['x-powered-by']).toBe('Cluster2');
    const down = await request(a).get('/ecv');
    expect(down.status).toBe(400);
    expect(down.text).toMatch(DISABLED);
    expect((await request(a).post('/ecv/enable')).status).toBe(204);
    const up = await request(a).get('/ecv');
    expect(up.status).toBe(200);
    expect(up.text).toMatch(AVAILABLE);
  });

  it('serves ecv.path and ecv.disabledStatus as given', async () => {
    const a = app({ ecv: { path: '/health', control: true, disabledStatus: 503 } });
    expect((await request(a).get('/health')).status).toBe(200);
    await request(a).post('/health/disable');
    expect((await request(a).get('/health')).status).toBe(503);
    expect((await request(a).get('/ecv')).status).toBe(404);
  });

  it('answers wrong methods with 405 and Allow, and the control routes with 404 when control is off', async () => {
    const a = app({ ecv: { control: true } });
    const put = await request(a).put('/ecv');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
    const options = await request(a).options('/ecv/live');
    expect(options.status).toBe(405);
    const get = await request(a).get('/ecv/disable');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await request(app()).post('/ecv/disable')).status).toBe(404);
  });

  it('mounting twice is harmless', async () => {
    const a = app({ ecv: { control: true } }, 2);
    expect((await request(a).get('/ecv')).status).toBe(200);
    expect((await request(a).post('/ecv/disable')).status).toBe(204);
    expect((await request(a).get('/ecv')).status).toBe(400);
    expect((await request(a).get('/')).body).toEqual({ hello: 'world', cluster: 'none' });
  });
});

describe("the app's own behaviour is unaffected", () => {
  it('routes, middleware, error handler and 404 answer as without cluster2', async () => {
    const a = app();
    const root = await request(a).get('/');
    expect(root.status).toBe(200);
    expect(root.headers['x-app']).toBe('yes');
    expect(root.body).toEqual({ hello: 'world', cluster: 'none' });
    const error = await request(a).get('/error');
    expect(error.status).toBe(500);
    expect(error.body).toEqual({ handledBy: 'app', message: 'boom' });
    const missing = await request(a).get('/nope');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('Not Found');
    expect((await request(a).get('/ecv/other')).status).toBe(404);
  });

  it('ctx.cluster2 is there for middleware mounted before cluster2Koa()', async () => {
    const a = new Koa();
    a.use(async (ctx) => {
      ctx.body = { has: 'cluster2' in ctx, value: ctx.cluster2 ?? null };
    });
    cluster2Koa(a);
    expect((await request(a.callback()).get('/')).body).toEqual({ has: true, value: null });
  });
});

describe('options', () => {
  it('rejects an unknown option naming it', () => {
    expect(() => cluster2Koa(new Koa(), { port: 3000 } as Cluster2KoaOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_UNKNOWN_OPTION', message: expect.stringContaining('"port"') }),
    );
  });

  it('rejects an invalid ECV option naming it', () => {
    expect(() => cluster2Koa(new Koa(), { ecv: { control: 'yes' as unknown as boolean } })).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('ecv.control') }),
    );
  });

  it('listen() refuses an ecv.path the mounted routes do not serve, before starting anything', async () => {
    const a = cluster2Koa(new Koa());
    // In-process settings, should the check ever let it through: no fork, no fixed port.
    const options = { cluster: false, port: 0, pids: false, monitor: false, ecv: { path: '/health' } } as const;
    await expect(listen(a, options)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('"/ecv"') });
  });

  it('listen() refuses what is neither a Koa app nor a function that builds one, naming what it takes', async () => {
    await expect(listen(42 as never)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_FACTORY',
      message: expect.stringContaining('listen() takes a Koa app or a function that builds one'),
    });
  });

  it('listen() builds the app with the function it was given and checks it like an app, before anything listens', async () => {
    // In-process settings, should a check ever let it through: no fork, no fixed port.
    const options = { cluster: false, port: 0, pids: false, monitor: false, ecv: { path: '/health' } } as const;
    let built = 0;
    const build = async () => {
      built++;
      return cluster2Koa(new Koa());
    };
    await expect(listen(build, options)).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('"/ecv"') });
    expect(built).toBe(1);
    await expect(listen(async () => undefined as never, options)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_FACTORY',
      message: expect.stringContaining('got undefined'),
    });
  });
});
