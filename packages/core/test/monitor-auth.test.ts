import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, rawRequest, startTestMonitor, type TestMonitor } from './monitor-helpers.js';

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

  it('with a token: read routes stay open', async () => {
    t = await startTestMonitor({ token: 's3cret' });
    for (const route of ['/', '/api/status', '/metrics', '/api/logs', '/api/deps']) {
      expect((await fetch(`${t.base}${route}`)).status).toBe(200);
    }
  });
});
