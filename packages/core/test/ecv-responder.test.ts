// The ECV responder adapters mount, before any Cluster serves in this process (its own state).
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { EcvRequest } from '../src/ecv/handler.js';
import { createEcvResponder } from '../src/adapter-kit/ecv-responder.js';
import { isEcvMounted, markEcvMounted } from '../src/ecv/mounted.js';

const loopback = (overrides: Partial<EcvRequest> = {}): EcvRequest => ({
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
});

describe('createEcvResponder (no Cluster serving in this process)', () => {
  it('mounts at /ecv by default and matches its routes only there', () => {
    const ecv = createEcvResponder();
    expect(ecv.path).toBe('/ecv');
    expect(['/ecv', '/ecv/live', '/ecv/disable', '/ecvx', '/health'].map((url) => ecv.match(url))).toEqual(['status', 'live', 'disable', undefined, undefined]);
  });

  it('follows its own ecv.path', () => {
    const ecv = createEcvResponder({ path: '/_health' });
    expect(ecv.path).toBe('/_health');
    expect([ecv.match('/_health'), ecv.match('/_health/enable'), ecv.match('/ecv')]).toEqual(['status', 'enable', undefined]);
  });

  it('refuses a bad ecv option at once, naming it', () => {
    expect(() => createEcvResponder({ path: 'no-slash' })).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: expect.stringContaining('ecv.path') }),
    );
  });

  it('answers from its own state: 200 enabled, control flips it, disabledStatus while disabled', async () => {
    const ecv = createEcvResponder({ control: true, disabledStatus: 503 });
    expect((await ecv.answer('status', loopback())).status).toBe(200);
    expect((await ecv.answer('disable', loopback({ method: 'POST' }))).status).toBe(204);
    expect((await ecv.answer('status', loopback())).status).toBe(503);
    expect((await ecv.answer('enable', loopback({ method: 'POST' }))).status).toBe(204);
    expect((await ecv.answer('status', loopback())).status).toBe(200);
  });

  it('without ecv.control the control routes are not there: 404', async () => {
    const ecv = createEcvResponder();
    expect((await ecv.answer('disable', loopback({ method: 'POST' }))).status).toBe(404);
    expect((await ecv.answer('status', loopback())).status).toBe(200);
  });

  it('with monToken every control call needs it: 401 without, 403 wrong (same length), 204 right', async () => {
    const ecv = createEcvResponder({ control: true }, 's3cret');
    expect((await ecv.answer('disable', loopback({ method: 'POST' }))).status).toBe(401);
    expect((await ecv.answer('disable', loopback({ method: 'POST', authorization: 'Bearer s3creT' }))).status).toBe(403);
    expect((await ecv.answer('disable', loopback({ method: 'POST', authorization: 'Bearer s3cret' }))).status).toBe(204);
    expect((await ecv.answer('status', loopback())).status).toBe(400);
  });
});

describe('markEcvMounted', () => {
  it('marks the server it is given, and only that one', () => {
    const [mounted, plain] = [new net.Server(), new net.Server()];
    markEcvMounted(mounted);
    expect([isEcvMounted(mounted), isEcvMounted(plain)]).toEqual([true, false]);
  });
});
