import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster2Error } from '../src/errors.js';
import { DASHBOARD_SCRIPT } from '../src/monitor/dashboard-html.js';
import { startMonitor } from '../src/monitor/lazy.js';
import type { ClusterStatus } from '../src/status.js';
import { errorCode, FakeSource, makeWorker, rawRequest, startTestMonitor, waitFor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor;
beforeEach(async () => {
  t = await startTestMonitor();
});
afterEach(async () => {
  await t.close();
});

describe('monitor read routes', () => {
  it('serves the dashboard as HTML with the hooks a browser test uses and a hash-based CSP', async () => {
    const res = await fetch(`${t.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    for (const hook of [
      'data-testid="ecv-state"',
      'data-testid="ecv-enable"',
      'data-testid="ecv-disable"',
      'data-testid="reload"',
      "'worker-row'",
      "'data-pid'",
      "get('api/events')",
      "authorization: 'Bearer ' + token",
    ]) {
      expect(html).toContain(hook);
    }
    expect(html).not.toMatch(/innerHTML|https?:\/\/(?!www\.w3\.org)/); // no innerHTML, no CDN
    // The token travels as a header only: EventSource could carry it in the URL alone.
    expect(html).not.toContain('EventSource');
  });

  it('ships a dashboard script that parses', () => {
    expect(() => new vm.Script(DASHBOARD_SCRIPT)).not.toThrow();
  });

  it('answers /api/status with the source status as JSON', async () => {
    const res = await fetch(`${t.base}/api/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as ClusterStatus;
    expect(body.master.pid).toBe(4100);
    expect(body.workers.map((w) => w.pid)).toEqual([4101, 4102]);
    expect(body.workers[0]).toMatchObject({ id: 1, state: 'listening' });
    expect(body.ecv.state).toBe('enabled');
    expect(body.totals.requests).toBe(600);
  });

  it('answers HEAD on a GET route without a body', async () => {
    const res = await rawRequest(t.port, '/api/status', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('lists dependencies with installed versions, null when missing', async () => {
    fs.writeFileSync(
      path.join(t.appRoot, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.2.3', dependencies: { left: '^1.0.0', gone: '2.x' }, devDependencies: { '@scope/tool': '~3.0.0' } }),
    );
    for (const [name, version] of [
      ['left', '1.4.0'],
      ['@scope/tool', '3.0.7'],
    ] as const) {
      fs.mkdirSync(path.join(t.appRoot, 'node_modules', name), { recursive: true });
      fs.writeFileSync(path.join(t.appRoot, 'node_modules', name, 'package.json'), JSON.stringify({ name, version }));
    }
    const res = await fetch(`${t.base}/api/deps`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({
      name: 'app',
      version: '1.2.3',
      dependencies: [
        { name: '@scope/tool', wanted: '~3.0.0', installed: '3.0.7', dev: true },
        { name: 'gone', wanted: '2.x', installed: null, dev: false },
        { name: 'left', wanted: '^1.0.0', installed: '1.4.0', dev: false },
      ],
    });
  });

  it('answers /api/deps with an empty list when the app has no package.json', async () => {
    expect(await (await fetch(`${t.base}/api/deps`)).json()).toEqual({ name: null, version: null, dependencies: [] });
  });
});

describe('monitor control routes (no token, loopback caller)', () => {
  it.each([
    ['enable', 'disable'],
    ['disable', 'enable'],
  ])('POST /api/ecv/%s → 204 after the source has applied it', async (action) => {
    const res = await fetch(`${t.base}/api/ecv/${action}`, { method: 'POST' });
    expect(res.status).toBe(204);
    expect(t.source.calls).toEqual([action]);
    expect(t.source.status().ecv.state).toBe(`${action}d`);
  });

  it('POST /api/reload?wait=1 answers once the reload is done: 200 with its status, or its error', async () => {
    t.source.reloadResult = Promise.resolve();
    const done = await fetch(`${t.base}/api/reload?wait=1`, { method: 'POST' });
    expect(done.status).toBe(200);
    expect(await done.json()).toHaveProperty('reload');
    t.source.reloadResult = Promise.reject(Object.assign(new Error('worker 9 failed to start: SyntaxError'), { code: 'ERR_CLUSTER2_RELOAD_FAILED' }));
    t.source.reloadResult.catch(() => {});
    const failed = await fetch(`${t.base}/api/reload?wait=1`, { method: 'POST' });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: { code: 'ERR_CLUSTER2_RELOAD_FAILED', message: 'worker 9 failed to start: SyntaxError' } });
  });

  it('POST /api/reload → 202 without waiting for the reload, and survives its rejection', async () => {
    let reject!: (error: Error) => void;
    t.source.reloadResult = new Promise((_resolve, rej) => (reject = rej));
    const res = await fetch(`${t.base}/api/reload`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(t.source.calls).toEqual(['reload']);
    reject(new Error('successor failed'));
    expect((await fetch(`${t.base}/api/status`)).status).toBe(200); // still serving
  });

  it('POST /api/workers/<pid>/restart → 202 for a live worker, 404 for an unknown or dead one', async () => {
    t.source.current.workers.push(makeWorker(4103, 3, { state: 'dead' }));
    expect((await fetch(`${t.base}/api/workers/4101/restart`, { method: 'POST' })).status).toBe(202);
    expect((await fetch(`${t.base}/api/workers/999999/restart`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${t.base}/api/workers/4103/restart`, { method: 'POST' })).status).toBe(404);
    const bad = await fetch(`${t.base}/api/workers/abc/restart`, { method: 'POST' });
    expect(bad.status).toBe(404);
    expect(t.source.calls).toEqual(['restart:4101', 'restart:999999', 'restart:4103']);
  });

  it('answers 500 with the error code when the source rejects, and keeps serving', async () => {
    t.source.enable = async () => {
      throw Object.assign(new Error('shutting down'), { code: 'ERR_CLUSTER2_WRONG_ROLE' });
    };
    const res = await fetch(`${t.base}/api/ecv/enable`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'ERR_CLUSTER2_WRONG_ROLE', message: 'shutting down' } });
    t.source.status = () => {
      throw new Error('secret detail');
    };
    const hidden = await fetch(`${t.base}/api/status`);
    expect(hidden.status).toBe(500);
    expect(await hidden.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
  });

  it('refuses a cross-origin browser POST with 403', async () => {
    const res = await rawRequest(t.port, '/api/reload', { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    expect(t.source.calls).toEqual([]);
  });
});

describe('monitor bad input', () => {
  it('answers 404 with a JSON error for an unknown route', async () => {
    const res = await fetch(`${t.base}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    expect((await fetch(`${t.base}/api/status/`)).status).toBe(404);
  });

  it('answers 405 with Allow for a known route and a wrong method', async () => {
    const post = await fetch(`${t.base}/api/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await errorCode(post)).toBe('METHOD_NOT_ALLOWED');
    const get = await fetch(`${t.base}/api/reload`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${t.base}/metrics`, { method: 'DELETE' })).status).toBe(405);
    expect(t.source.calls).toEqual([]);
  });

  it('answers 413 to a body over 64 KiB, declared or streamed', async () => {
    const declared = await fetch(`${t.base}/api/reload`, { method: 'POST', body: Buffer.alloc(64 * 1024 + 1, 'a') });
    expect(declared.status).toBe(413);
    expect(await errorCode(declared)).toBe('PAYLOAD_TOO_LARGE');
    const chunks = (async function* () {
      for (let i = 0; i < 10; i += 1) yield Buffer.alloc(8 * 1024, 'b');
    })();
    const streamed = await fetch(`${t.base}/api/ecv/disable`, { method: 'POST', body: chunks, duplex: 'half' });
    expect(streamed.status).toBe(413);
    expect(t.source.calls).toEqual([]);
    const ok = await fetch(`${t.base}/api/ecv/disable`, { method: 'POST', body: Buffer.alloc(64 * 1024, 'c') });
    expect(ok.status).toBe(204);
  });

  it('answers 400 to malformed percent-encoding and to a target that is not a path', async () => {
    const bad = await rawRequest(t.port, '/api/logs/%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('BAD_REQUEST');
    expect((await rawRequest(t.port, '/%zz')).status).toBe(400);
    expect((await rawRequest(t.port, '*', { method: 'OPTIONS' })).status).toBe(400);
  });

  it('answers 431 to oversized headers', async () => {
    const res = await fetch(`${t.base}/api/status`, { headers: { 'x-filler': 'a'.repeat(20 * 1024) } });
    expect(res.status).toBe(431);
    expect((await fetch(`${t.base}/api/status`)).status).toBe(200);
  });

  it('answers 400 to a request the HTTP parser rejects, and keeps serving', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(t.port, '127.0.0.1', () => socket.write('GARBAGE\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${t.base}/api/status`)).status).toBe(200);
  });
});

describe('monitor lifecycle', () => {
  it('rejects with ERR_CLUSTER2_PORT_IN_USE when the port is taken', async () => {
    const rejected = await startMonitor({ source: new FakeSource(), host: '127.0.0.1', port: t.port, logsDir: t.logsDir }).catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(Cluster2Error);
    expect(rejected).toMatchObject({ code: 'ERR_CLUSTER2_PORT_IN_USE', message: expect.stringContaining(`127.0.0.1:${t.port}`) });
  });

  it('close() resolves promptly with an event stream open, and is idempotent', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.base}/api/events`, { signal: controller.signal });
    expect(res.status).toBe(200);
    await waitFor(() => t.source.listenerCount('lifecycle') === 1, 2000, 'subscription');
    const started = Date.now();
    await Promise.all([t.monitor.close(), t.monitor.close()]);
    expect(Date.now() - started).toBeLessThan(900); // well under the forced-close grace
    expect(t.source.listenerCount('lifecycle')).toBe(0);
    controller.abort();
    await expect(fetch(`${t.base}/api/status`)).rejects.toThrow();
  });
});
