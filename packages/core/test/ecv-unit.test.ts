import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { answerEcv, matchEcvRoute, type EcvRequest } from '../src/ecv/handler.js';
import { EcvState, type EcvHost } from '../src/ecv/state.js';
import { resolveOptions, type EcvOptions } from '../src/options.js';

const TOKEN = 's3cret-token';

/** A host like a worker's, recording the switches it was asked for. */
/** `monToken: null` means none configured (`undefined` would pick the default). */
function host(ecv: EcvOptions = { control: true }, monToken: string | null = TOKEN, draining = false) {
  const state = new EcvState(new Date(Date.now() - 60_000));
  const calls: boolean[] = [];
  const h: EcvHost = {
    options: resolveOptions({ ecv, monitor: false }).ecv,
    monToken: monToken ?? undefined,
    snapshot: () => state.snapshot(),
    draining: () => draining,
    set: async (enabled) => {
      calls.push(enabled);
      state.set(enabled);
    },
  };
  return { host: h, calls, state };
}

function req(overrides: Partial<EcvRequest> = {}): EcvRequest {
  return {
    method: 'GET',
    localAddress: '127.0.0.1',
    localPort: 8080,
    remoteAddress: '127.0.0.1',
    authorization: undefined,
    host: '127.0.0.1:8080',
    origin: undefined,
    secFetchSite: undefined,
    encrypted: false,
    ...overrides,
  };
}

describe('matchEcvRoute', () => {
  it.each([
    ['/ecv', 'status'],
    ['/ecv?x=1', 'status'],
    ['/ecv#top', 'status'],
    ['/ecv/live', 'live'],
    ['/ecv/live?probe=k8s', 'live'],
    ['/ecv/disable', 'disable'],
    ['/ecv/enable?now=1', 'enable'],
    ['/ecvx', undefined],
    ['/ecv/other', undefined],
    ['/', undefined],
    ['/other/ecv', undefined],
    [undefined, undefined],
  ])('%s → %s', (url, route) => {
    expect(matchEcvRoute(url, '/ecv')).toBe(route);
  });

  it('follows a custom ecv.path', () => {
    expect(matchEcvRoute('/_health/ecv', '/_health/ecv')).toBe('status');
    expect(matchEcvRoute('/_health/ecv/disable', '/_health/ecv')).toBe('disable');
    expect(matchEcvRoute('/ecv', '/_health/ecv')).toBeUndefined();
  });
});

describe('answerEcv control routes', () => {
  const remote = '10.1.2.3';

  it('a client without the token → 401 with a Bearer challenge and ECV headers, and the switch is untouched', async () => {
    const h = host();
    for (const route of ['disable', 'enable'] as const) {
      const answer = await answerEcv(route, req({ method: 'POST', remoteAddress: remote }), h.host);
      expect(answer.status).toBe(401);
      expect(answer.headers['x-powered-by']).toBe('Cluster2');
      expect(answer.headers['cache-control']).toBe('no-cache');
      expect(answer.headers['content-type']).toBe('text/plain');
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="cluster2"');
      expect(answer.body).toMatch(/^Unauthorized: .*Authorization: Bearer <monToken>/);
    }
    expect(h.calls).toEqual([]);
  });

  it('without a monToken, a loopback client showing cross-origin or DNS-rebinding signs → 403 with ECV headers', async () => {
    const h = host({ control: true }, null);
    for (const signs of [
      { origin: 'http://evil.com' },
      { origin: 'null' },
      { origin: 'http://127.0.0.1:8081' },
      { host: 'evil.example:8080' },
      { host: undefined },
      { secFetchSite: 'cross-site' },
      { secFetchSite: 'same-site' },
    ]) {
      const answer = await answerEcv('disable', req({ method: 'POST', ...signs }), h.host);
      expect({ signs, status: answer.status, headers: answer.headers }).toEqual({
        signs,
        status: 403,
        headers: { 'x-powered-by': 'Cluster2', 'cache-control': 'no-cache', 'content-type': 'text/plain' },
      });
      expect(answer.body).toMatch(/^Forbidden: /);
    }
    expect(h.calls).toEqual([]);
    // What a same-origin page or a command-line client sends passes.
    for (const fine of [
      { origin: 'http://127.0.0.1:8080' },
      { secFetchSite: 'same-origin' },
      { secFetchSite: 'none' },
      { host: 'LocalHost:8080' },
      { host: '[::1]:8080' },
    ]) {
      expect({ fine, status: (await answerEcv('disable', req({ method: 'POST', ...fine }), h.host)).status }).toEqual({ fine, status: 204 });
    }
  });

  it('a non-loopback client with Authorization: Bearer <monToken> → 204 and the switch flips', async () => {
    const h = host();
    const answer = await answerEcv('disable', req({ method: 'POST', remoteAddress: remote, authorization: `Bearer ${TOKEN}` }), h.host);
    expect(answer).toEqual({ status: 204, headers: { 'x-powered-by': 'Cluster2', 'cache-control': 'no-cache' }, body: '' });
    expect(h.calls).toEqual([false]);
    expect(h.state.enabled).toBe(false);
    // The auth scheme is case-insensitive (RFC 9110).
    expect((await answerEcv('enable', req({ method: 'POST', remoteAddress: `::ffff:${remote}`, authorization: `bearer ${TOKEN}` }), h.host)).status).toBe(204);
    expect(h.calls).toEqual([false, true]);
  });

  it.each([
    ['a wrong token', `Bearer wrong-token!`],
    ['a token one character short', `Bearer ${TOKEN.slice(0, -1)}`],
  ])('a non-loopback client with %s → 403', async (_name, authorization) => {
    const h = host();
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: remote, authorization }), h.host)).status).toBe(403);
    expect(h.calls).toEqual([]);
  });

  it.each([
    ['the token without the scheme', TOKEN],
    ['Basic auth', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('a client with %s presents no bearer token → 401', async (_name, authorization) => {
    const h = host();
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: remote, authorization }), h.host)).status).toBe(401);
    expect(h.calls).toEqual([]);
  });

  it('without a monToken configured, a non-loopback client is refused whatever it presents', async () => {
    const h = host({ control: true }, null);
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: remote, authorization: 'Bearer anything' }), h.host)).status).toBe(403);
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: remote, authorization: 'Bearer ' }), h.host)).status).toBe(403);
    expect(h.calls).toEqual([]);
  });

  it('without a monToken, loopback clients need no token', async () => {
    const h = host({ control: true }, null);
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: '::ffff:127.0.0.1' }), h.host)).status).toBe(204);
    expect((await answerEcv('enable', req({ method: 'POST', remoteAddress: '::1' }), h.host)).status).toBe(204);
    expect(h.calls).toEqual([false, true]);
  });

  it('with a monToken, loopback clients need it too (a same-host proxy connects from loopback)', async () => {
    const h = host();
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: '127.0.0.1' }), h.host)).status).toBe(401);
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: '127.0.0.1', authorization: 'Bearer wrong' }), h.host)).status).toBe(403);
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: '127.0.0.1', authorization: `Bearer ${TOKEN}` }), h.host)).status).toBe(204);
    expect(h.calls).toEqual([false]);
  });

  it('control: false → 404 before any auth or method check', async () => {
    const h = host({ control: false });
    expect((await answerEcv('disable', req({ method: 'POST', remoteAddress: remote }), h.host)).status).toBe(404);
    expect((await answerEcv('enable', req({ method: 'GET' }), h.host)).status).toBe(404);
    expect(h.calls).toEqual([]);
  });

  it('a switch the master cannot apply → 503 naming why', async () => {
    const h = host({ control: true }, null);
    h.host.set = async () => {
      throw new Error('the master went away');
    };
    const answer = await answerEcv('disable', req({ method: 'POST' }), h.host);
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('the master went away');
  });
});

describe('answerEcv status', () => {
  const hostname = os.hostname();

  it('strips the IPv4-mapped prefix from ip and reports the port the request arrived at', async () => {
    const h = host();
    const answer = await answerEcv('status', req({ localAddress: '::ffff:10.0.0.5', localPort: 4242 }), h.host);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(new RegExp(`^status=AVAILABLE&ServeTraffic=true&ip=10\\.0\\.0\\.5&hostname=${hostname.replace(/\./g, '\\.')}&port=4242&time=`));
    const v6 = await answerEcv('status', req({ localAddress: '::1' }), h.host);
    expect(v6.body).toContain('&ip=::1&');
  });

  it("since is the switch's last change, as Date#toString()", async () => {
    const h = host();
    const before = await answerEcv('status', req(), h.host);
    expect(before.headers.since).toBe(h.state.snapshot().since);
    h.state.set(false);
    const after = await answerEcv('status', req(), h.host);
    expect(after.status).toBe(400);
    expect(after.headers.since).toBe(h.state.snapshot().since);
    expect(after.headers.since).toBe(new Date(Date.parse(after.headers.since!)).toString());
  });

  it('a draining worker answers DISABLED with disabledStatus even while the switch is on', async () => {
    const h = host({ disabledStatus: 503 }, TOKEN, true);
    const answer = await answerEcv('status', req(), h.host);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatch(/^status=DISABLED&ServeTraffic=false&/);
    expect((await answerEcv('live', req(), h.host)).status).toBe(200);
  });

  it('the validator gets the worker pid, and only `true` counts as healthy', async () => {
    const seen: unknown[] = [];
    for (const [result, status] of [
      [true, 200],
      [1, 500],
      ['yes', 500],
      [false, 500],
    ] as const) {
      const h = host({ validator: (context) => (seen.push(context), result as boolean) });
      const answer = await answerEcv('status', req(), h.host);
      expect({ result, status: answer.status }).toEqual({ result, status });
    }
    expect(seen).toEqual(Array.from({ length: 4 }, () => ({ pid: process.pid })));
  });
});
