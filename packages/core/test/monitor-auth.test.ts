import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTE_TABLE } from '../src/monitor/routes.js';
import { errorCode, rawRequest, startTestMonitor, type TestMonitor } from './monitor-helpers.js';

/** Status and headers of one request; the body is not awaited (an event stream never ends). */
function head(
  port: number,
  target: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; firstChunk: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.once('data', (chunk: string) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, firstChunk: chunk });
        req.destroy();
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, firstChunk: '' }));
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every route of the monitor's table as a request to send: `:pid` a live worker, `:name` a log file that exists. */
function everyRoute(): Array<{ method: string; target: string; control: boolean }> {
  return ROUTE_TABLE.flatMap(({ pattern, methods, control }) =>
    methods.map((method) => ({ method, control, target: pattern.replace(':pid', '4101').replace(':name', 'app.log') })),
  );
}

let t: TestMonitor | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('control authorisation', () => {
  it('without a token allows a loopback caller: 204', async () => {
    t = await startTestMonitor();
    expect((await fetch(`${t.base}/api/ecv/disable`, { method: 'POST' })).status).toBe(204);
    expect(t.source.calls).toEqual(['disable']);
  });

  it('without a token refuses a loopback caller that names a foreign host (DNS rebinding): 403', async () => {
    t = await startTestMonitor();
    const res = await rawRequest(t.port, '/api/ecv/disable', { method: 'POST', headers: { host: `attacker.example:${t.port}` } });
    expect(res.status).toBe(403);
    expect(t.source.calls).toEqual([]);
    const local = await rawRequest(t.port, '/api/ecv/disable', { method: 'POST', headers: { host: `localhost:${t.port}` } });
    expect(local.status).toBe(204);
  });

  it('with a token: no header → 401 with WWW-Authenticate', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    const res = await fetch(`${t.base}/api/ecv/disable`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(await errorCode(res)).toBe('UNAUTHORIZED');
    expect(t.source.calls).toEqual([]);
  });

  it('with a token: a wrong token or scheme → 403', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    for (const authorization of ['Bearer wrong', 'Bearer s3cret2', 'Bearer s3cre']) {
      const res = await fetch(`${t.base}/api/reload`, { method: 'POST', headers: { authorization } });
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe('FORBIDDEN');
    }
    expect((await fetch(`${t.base}/api/reload`, { method: 'POST', headers: { authorization: 'Basic czNjcmV0' } })).status).toBe(401);
    expect(t.source.calls).toEqual([]);
  });

  it('with a token: a wrong token of the same length is refused like any other → 403 (a length-only check would let it through)', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    // Each differs from 's3cret' in one character only: first, middle, last, and letter case.
    for (const token of ['x3cret', 's3Xret', 's3creT', 'S3CRET', '000000']) {
      expect(token).toHaveLength(6);
      const res = await fetch(`${t.base}/api/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect({ token, status: res.status, code: await errorCode(res) }).toEqual({ token, status: 403, code: 'FORBIDDEN' });
      expect({ token, status: (await fetch(`${t.base}/?token=${token}`)).status }).toEqual({ token, status: 403 });
    }
    expect(t.source.calls).toEqual([]);
    // The right one still goes through: the refusals above were about the token, not the route.
    expect((await fetch(`${t.base}/api/reload`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } })).status).toBe(202);
    expect(t.source.calls).toEqual(['reload']);
  });

  it('with a token: the right token → 204 / 202', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    const headers = { authorization: 'Bearer s3cret' };
    expect((await fetch(`${t.base}/api/ecv/disable`, { method: 'POST', headers })).status).toBe(204);
    expect((await fetch(`${t.base}/api/ecv/enable`, { method: 'POST', headers: { authorization: 'bearer s3cret' } })).status).toBe(204);
    expect((await fetch(`${t.base}/api/reload`, { method: 'POST', headers })).status).toBe(202);
    expect((await fetch(`${t.base}/api/workers/4101/restart`, { method: 'POST', headers })).status).toBe(202);
    expect(t.source.calls).toEqual(['disable', 'enable', 'reload', 'restart:4101']);
  });

  it('with a token: the token alone decides, whatever Origin and Host a proxy forwards', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    const headers = { origin: 'https://monitor.example.com', host: '127.0.0.1:9', authorization: 'Bearer s3cret' };
    expect((await rawRequest(t.port, '/api/ecv/disable', { method: 'POST', headers })).status).toBe(204);
    const noToken = { origin: 'https://monitor.example.com', host: 'monitor.example.com' };
    expect((await rawRequest(t.port, '/api/ecv/enable', { method: 'POST', headers: noToken })).status).toBe(401);
    expect(t.source.calls).toEqual(['disable']);
  });

  it('without a token refuses a loopback caller with cross-origin signs: foreign or null Origin, Sec-Fetch-Site other than same-origin/none', async () => {
    t = await startTestMonitor();
    for (const headers of [
      { origin: 'http://evil.com' } as Record<string, string>,
      { origin: 'null' },
      { origin: `http://localhost:${t.port}` }, // Host says 127.0.0.1: another origin
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      const res = await rawRequest(t.port, '/api/ecv/disable', { method: 'POST', headers });
      expect({ headers, status: res.status }).toEqual({ headers, status: 403 });
    }
    expect(t.source.calls).toEqual([]);
    for (const headers of [
      { origin: `http://127.0.0.1:${t.port}` } as Record<string, string>,
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
    ]) {
      expect((await rawRequest(t.port, '/api/ecv/disable', { method: 'POST', headers })).status).toBe(204);
    }
  });
});

describe('with monToken every route needs the token', () => {
  it('lists every route of the table (so a new one cannot be forgotten)', () => {
    expect(everyRoute().map((r) => `${r.method} ${r.target}`)).toEqual([
      'GET /',
      'GET /api/status',
      'GET /api/events',
      'GET /api/deps',
      'GET /api/logs',
      'POST /api/logs/reopen',
      'GET /api/logs/app.log',
      'GET /metrics',
      'POST /api/ecv/enable',
      'POST /api/ecv/disable',
      'POST /api/reload',
      'POST /api/workers/4101/restart',
    ]);
  });

  it('answers 401 with a Bearer challenge without it, 403 with a wrong one, and changes nothing', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    fs.writeFileSync(path.join(t.logsDir, 'app.log'), 'secret log line\n');
    for (const { method, target } of everyRoute()) {
      for (const headers of [{}, { authorization: 'Basic czNjcmV0' }] as Record<string, string>[]) {
        const res = await rawRequest(t.port, target, { method, headers });
        expect({ method, target, status: res.status, challenge: res.headers['www-authenticate'] }).toEqual({
          method,
          target,
          status: 401,
          challenge: 'Bearer realm="cluster2"',
        });
        expect(JSON.parse(res.body).error.code).toBe('UNAUTHORIZED');
        expect(res.body).not.toContain('secret log line');
      }
      const wrong = await rawRequest(t.port, target, { method, headers: { authorization: 'Bearer s3cret2' } });
      expect({ method, target, status: wrong.status }).toEqual({ method, target, status: 403 });
      expect(JSON.parse(wrong.body).error.code).toBe('FORBIDDEN');
    }
    expect(t.source.calls).toEqual([]);
    expect(t.monitor).toBeDefined();
  });

  it('serves every route with Authorization: Bearer <monToken>, loopback or not of any Host', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    fs.writeFileSync(path.join(t.logsDir, 'app.log'), 'secret log line\n');
    const answers: string[] = [];
    for (const { method, target } of everyRoute()) {
      const res = await head(t.port, target, method, { authorization: 'Bearer s3cret', host: 'monitor.example.com' });
      answers.push(`${method} ${target} ${res.status}`);
      if (target === '/api/logs/app.log') expect(res.firstChunk).toBe('secret log line\n');
      if (target === '/api/events') expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    }
    expect(answers).toEqual(
      everyRoute().map(
        ({ method, target }) => `${method} ${target} ${method === 'GET' || target === '/api/logs/reopen' ? 200 : target.includes('/ecv/') ? 204 : 202}`,
      ),
    );
    expect(t.source.calls).toEqual(['reopen-logs', 'enable', 'disable', 'reload', 'restart:4101']);
  });

  it('/api/events streams the status event to a client that sends the token as a header (what the dashboard does)', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    const stream = await head(t.port, '/api/events', 'GET', { authorization: 'Bearer s3cret' });
    expect(stream.status).toBe(200);
    // The first chunk is the reconnect hint or the status event itself; either way, the stream is ours.
    expect(stream.firstChunk).toMatch(/^(retry: 3000|event: status)/);
  });

  it('takes ?token= on the dashboard page only (a navigation cannot send a header), never on the API', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    const page = await fetch(`${t.base}/?token=s3cret`);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${t.base}/?token=wrong`)).status).toBe(403);
    const bare = await fetch(`${t.base}/`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { message: string } }).error.message).toContain('open the dashboard as /?token=<monToken>');
    for (const route of ['/api/status', '/api/events', '/metrics', '/api/logs', '/api/deps']) {
      expect({ route, status: (await fetch(`${t.base}${route}?token=s3cret`)).status }).toEqual({ route, status: 401 });
    }
    expect((await fetch(`${t.base}/api/ecv/disable?token=s3cret`, { method: 'POST' })).status).toBe(401);
    expect(t.source.calls).toEqual([]);
  });

  it('without a token, read routes stay open to whoever reaches monHost', async () => {
    t = await startTestMonitor();
    for (const { method, target } of everyRoute().filter((r) => !r.control)) {
      expect({ target, status: (await head(t.port, target, method)).status }).toEqual({ target, status: target === '/api/logs/app.log' ? 404 : 200 });
    }
  });
});
