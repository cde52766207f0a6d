import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DelegationRouter } from '../src/delegation/primary.js';
import { until } from './delegation-harness.js';

const fixture = fileURLToPath(new URL('./fixtures/delegation-raw-worker.mjs', import.meta.url));

/** Forks the raw 0.4 worker and routes its messages the way the supervisor will. */
function startWorker(router: DelegationRouter, fixtureMessages: Array<Record<string, any>>): ChildProcess {
  const child = fork(fixture, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (message) => {
    if (!router.onMessage(child.pid!, message)) fixtureMessages.push(message as Record<string, any>);
  });
  child.on('exit', () => router.onWorkerExit(child.pid!));
  return child;
}

describe('raw 0.4 wire format over real IPC', () => {
  it('round-trips fire-and-forget, matches, typed replies, timeOut and NO_HANDLER with a forked worker', async () => {
    const emitter = new EventEmitter();
    const warnings: string[] = [];
    let child: ChildProcess | undefined;
    const router = new DelegationRouter({
      emitter,
      warn: (message) => warnings.push(message),
      send: (pid, message) => {
        if (child !== undefined && pid === child.pid && child.connected) child.send(message);
      },
    });
    const fixtureMessages: Array<Record<string, any>> = [];
    child = startWorker(router, fixtureMessages);
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    });
    const pid = child.pid!;
    const logs: unknown[][] = [];
    emitter.on('remote-log', (...args) => logs.push(args));
    emitter.on('config-read', (message: { key: string; env: string }) => {
      emitter.emit('config-value', { key: message.key, env: 'dev', url: 'not this one' });
      emitter.emit('config-value', { key: message.key, env: message.env, url: 'postgres://prod' });
    });
    emitter.on('slow', () => {});
    router.handle('sum', (numbers: number[], context) => ({ total: numbers.reduce((a, b) => a + b, 0), pid: context.pid }));

    await until(() => fixtureMessages.some((m) => m.fixture === 'ready'), 10_000);
    child.send({ fixture: 'run' });
    await until(() => fixtureMessages.some((m) => m.fixture === 'done'), 10_000);
    const { results } = fixtureMessages.find((m) => m.fixture === 'done')!;

    expect(logs).toEqual([[{ type: 'delegate', delegate: 'remote-log', level: 'info', line: `hello from ${pid}` }, { pid }]]);
    expect(results.config).toEqual({ type: 'config-value', key: 'db', env: 'prod', url: 'postgres://prod' });
    expect(results.sum).toEqual({ type: 'cluster2:reply', requestId: 'raw-1', result: { total: 6, pid } });
    expect(results.slow).toMatchObject({ type: 'slow-done', delegate: 'slow', timeOut: 50, error: { code: 'ERR_CLUSTER2_DELEGATE_TIMEOUT' } });
    expect(results.missing).toMatchObject({ type: 'nobody-done', error: { code: 'ERR_CLUSTER2_NO_HANDLER' } });
    expect(router.pendingCount()).toBe(0);
    expect(emitter.listenerCount('config-value')).toBe(0);
    expect(warnings).toEqual([]);
  }, 20_000);

  it('drops the request of a worker killed mid-request: nothing pending, no listener left', async () => {
    const emitter = new EventEmitter();
    let child: ChildProcess | undefined;
    const router = new DelegationRouter({
      emitter,
      warn: () => {},
      send: (pid, message) => {
        if (child !== undefined && pid === child.pid && child.connected) child.send(message);
      },
    });
    const fixtureMessages: Array<Record<string, any>> = [];
    child = startWorker(router, fixtureMessages);
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    });
    emitter.on('never', () => {});
    await until(() => fixtureMessages.some((m) => m.fixture === 'ready'), 10_000);
    child.send({ fixture: 'hang' });
    await until(() => router.pendingCount() === 1, 10_000);
    expect(emitter.listenerCount('never-done')).toBe(1);
    const exited = once(child, 'exit');
    process.kill(child.pid!, 'SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    expect(router.pendingCount()).toBe(0);
    expect(emitter.listenerCount('never-done')).toBe(0);
  }, 20_000);
});
