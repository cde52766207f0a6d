// The role a Cluster takes where nothing forks or listens: a master process before listen() (a
// control script) and `cluster: false` before listen(). Worker and master behaviour run as fixtures
// in the other suites.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../src/index.js';

const wrongRole = (message: string) => expect.objectContaining({ code: 'ERR_CLUSTER2_WRONG_ROLE', message });

describe.each([
  { name: 'a master process before listen()', options: {}, role: 'control' },
  { name: 'cluster: false before listen()', options: { cluster: false }, role: 'single' },
])('$name', ({ options, role }) => {
  it(`is '${role}', neither draining nor reporting a status, an ECV switch or a monitor`, () => {
    const c = new Cluster({ ...options, pids: false, monitor: false });
    expect(c.role).toBe(role);
    expect(c.draining).toBe(false);
    expect(c.status()).toBeUndefined();
    expect(c.ecv).toBeUndefined();
    expect(c.monitorAddress).toBeUndefined();
    expect(c.restartWorker(process.pid)).toBe(false);
    expect(() => c.ready()).not.toThrow();
  });

  it('rejects enable() and disable() with ERR_CLUSTER2_WRONG_ROLE: there is no switch before listen()', async () => {
    const c = new Cluster({ ...options, pids: false, monitor: false });
    const message = 'enable()/disable() need a running cluster: call listen() first';
    await expect(c.enable()).rejects.toEqual(wrongRole(message));
    await expect(c.disable()).rejects.toEqual(wrongRole(message));
  });

  it('with pids: false, shutdown(), stop() and reload() reject with ERR_CLUSTER2_NOT_RUNNING: no master to signal', async () => {
    const c = new Cluster({ ...options, pids: false, monitor: false });
    const notRunning = expect.objectContaining({
      code: 'ERR_CLUSTER2_NOT_RUNNING',
      message: 'no cluster2 master to signal: this Cluster has pids: false and never listened',
    });
    await expect(c.shutdown()).rejects.toEqual(notRunning);
    await expect(c.stop()).rejects.toEqual(notRunning);
    await expect(c.reload()).rejects.toEqual(notRunning);
  });

  it('listen() with no factory rejects with ERR_CLUSTER2_INVALID_FACTORY and leaves the role as it was', async () => {
    const c = new Cluster({ ...options, pids: false, monitor: false });
    await expect(c.listen('app.js' as never)).rejects.toEqual(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_FACTORY', message: 'listen() takes a server factory function; got string' }),
    );
    expect(c.role).toBe(role);
  });

  it('registers handlers and notifies no subscriber yet (notify() returns 0)', () => {
    const c = new Cluster({ ...options, pids: false, monitor: false });
    const unregister = c.handle('config', () => ({ ok: true }));
    expect(c.notify('config-changed', { v: 1 })).toBe(0);
    expect(() => c.handle('config', () => 1)).toThrow(/a handler is already registered/);
    unregister();
    expect(() => c.handle('config', () => 1)).not.toThrow();
  });
});

describe('a master process before listen()', () => {
  it('rejects delegate() with ERR_CLUSTER2_WRONG_ROLE, and subscribe() is a no-op', async () => {
    const c = new Cluster({ pids: false, monitor: false });
    await expect(c.delegate('config')).rejects.toEqual(wrongRole('delegate("config") is for workers; the master runs its handler itself'));
    const unsubscribe = c.subscribe('config-changed', () => {});
    expect(typeof unsubscribe).toBe('function');
    expect(() => unsubscribe()).not.toThrow();
  });
});

describe('cluster: false before listen()', () => {
  it('delegates to its own handler in-process: delegate() resolves with what handle() returned', async () => {
    const c = new Cluster({ cluster: false, pids: false, monitor: false });
    c.handle('double', (n: number) => n * 2);
    await expect(c.delegate('double', 21)).resolves.toBe(42);
  });
});
