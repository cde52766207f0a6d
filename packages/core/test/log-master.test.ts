// MasterLogs writes the master's own lines only for someone who takes them (the captured output or
// the `logger` option): with neither, a lifecycle event costs it nothing.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { resolveOptions, type Logger } from '../src/options.js';
import { MasterLogs } from '../src/primary/logs/master-logs.js';
import type { LifecycleEvent } from '../src/status.js';

/** A pino-compatible logger that keeps `level message` of every call. */
function recordingLogger(): { logger: Logger; calls: string[] } {
  const calls: string[] = [];
  const at = (level: string) => (_fields: object | string, msg?: string) => void calls.push(`${level} ${msg}`);
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, calls };
}

const event = (e: Omit<LifecycleEvent, 'time'>): LifecycleEvent => ({ time: Date.now(), ...e });

describe('MasterLogs', () => {
  it('with neither capture nor a logger, does not listen to lifecycle events (no line is described for nobody)', async () => {
    const source = new EventEmitter();
    const logs = new MasterLogs(resolveOptions({ logs: 'inherit' }), source, () => {});
    expect(source.listenerCount('lifecycle')).toBe(0);
    await logs.close();
  });

  it('with a logger and no capture, gives it every lifecycle event as a line, in event order', async () => {
    const source = new EventEmitter();
    const { logger, calls } = recordingLogger();
    const logs = new MasterLogs(resolveOptions({ logs: 'inherit', logger }), source, () => {});
    expect(source.listenerCount('lifecycle')).toBe(1);
    source.emit('lifecycle', event({ type: 'forked', pid: 4101 }));
    source.emit('lifecycle', event({ type: 'listening', pid: 4101 }));
    source.emit('lifecycle', event({ type: 'died', pid: 4101, code: 1, signal: null }));
    await logs.close();
    expect(calls).toEqual(['info cluster2: worker 4101 forked', 'info cluster2: worker 4101 listening', 'error cluster2: worker 4101 died (code 1)']);
  });
});
