import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { cluster2, listen, type Cluster2Options } from '../src/index.js';

const AVAILABLE = /^status=AVAILABLE&ServeTraffic=true&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;
const DISABLED = /^status=DISABLED&ServeTraffic=false&ip=127\.0\.0\.1&hostname=.+&port=\d+&time=.+$/;

/** A small app: cluster2 first, then the app's own middleware, routes, 404 and error handler. */
function app(options?: Cluster2Options, mounts = 1) {
  const a = express();
  for (let i = 0; i < mounts; i++) a.use(cluster2(options));
  a.use((_req, res, next) => {
    res.setHeader('x-app', 'yes');
    next();
  });
  a.get('/', (req, res) => {
    res.json({ hello: 'world', cluster: req.cluster2 === undefined ? 'none' : 'some' });
  });
  a.get('/error', () => {
    throw new Error('boom');
  });
  a.use(((error, _req, res, _next) => {
    res.status(500).json({ handledBy: 'app', message: (error as Error).message });
  }) satisfies ErrorRequestHandler);
  return a;
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
    // ECV answers before the app's own middleware.
    expect(res.headers['x-app']).toBeUndefined();
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
    const notEcv = await request(a).get('/ecv');
    expect(notEcv.status).toBe(404);
    expect(notEcv.headers['x-app']).toBe('yes');
  });

  it('answers wrong methods with 405 and Allow, and the control routes with 404 when control is off', async () => {
    const a = app({ ecv: { control: true } });
    const put = await request(a).put('/ecv');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD');
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
    const res = await request(a).get('/');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hello: 'world', cluster: 'none' });
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
    expect(missing.text).toContain('Cannot GET /nope');
    expect((await request(a).get('/ecvx')).status).toBe(404);
  });
});

describe('options', () => {
  it('rejects an unknown option naming it', () => {
    expect(() => cluster2({ port: 3000 } as Cluster2Options)).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_UNKNOWN_OPTION', message: expect.stringContaining('"port"') }),
    );
  });

  it('rejects an invalid ECV option naming it', () => {
    expect(() => cluster2({ ecv: { path: 'ecv' } })).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('ecv.path') }),
    );
    expect(() => cluster2({ idleGrace: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('idleGrace') }),
    );
  });

  it("does not touch the caller's options object", () => {
    const options = Object.freeze({ ecv: Object.freeze({ control: true }) });
    expect(() => cluster2(options)).not.toThrow();
  });

  it('listen() refuses what is neither an Express app nor a function that builds one, naming what it takes', async () => {
    await expect(listen({} as never)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_FACTORY',
      message: expect.stringContaining('listen() takes an Express app or a function that builds one'),
    });
  });

  it('listen() refuses a function that builds no app, naming what it returned, before anything listens', async () => {
    // In-process settings, should a check ever let it through: no fork, no fixed port.
    const options = { cluster: false, port: 0, pids: false, monitor: false } as const;
    let built = 0;
    const build = () => {
      built++;
      return { not: 'an app' } as never;
    };
    await expect(listen(build, options)).rejects.toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_FACTORY',
      message: expect.stringMatching(/must return an Express app .*got \[object Object\]/),
    });
    expect(built).toBe(1);
  });
});
