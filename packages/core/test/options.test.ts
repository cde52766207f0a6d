import { describe, expect, it } from 'vitest';
import { Cluster, DEFAULTS, resolveOptions, type ClusterOptions } from '../src/index.js';

function codeOf(options: unknown): { code: string; message: string } {
  try {
    new Cluster(options as ClusterOptions);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error(`no error for ${JSON.stringify(options)}`);
}

const INVALID: Array<[string, unknown, RegExp]> = [
  ['cluster', 'yes', /option "cluster" must be a boolean; received "yes"/],
  ['noWorkers', 0, /option "noWorkers" must be an integer from 1 to 1024; received 0/],
  ['noWorkers', 2.5, /"noWorkers".*received 2.5/],
  ['scheduling', 'random', /"scheduling" must be "round-robin" or "os"; received "random"/],
  ['port', 70000, /"port" must be an integer from 0 to 65535; received 70000/],
  ['port', [], /"port" must be a port .* or a non-empty array of ports; received \[\]/],
  ['port', [80, 'x'], /"port\[1\]" must be an integer/],
  ['host', '', /"host" must be a non-empty string/],
  ['pids', 3, /"pids" must be a directory path or false; received 3/],
  ['monitor', 1, /"monitor" must be a boolean/],
  ['monPort', -1, /"monPort" must be an integer from 0 to 65535; received -1/],
  ['monHost', null, /"monHost" must be a non-empty string; received null/],
  ['monToken', 42, /"monToken" must be a non-empty string; received 42/],
  ['monToken', 'two words', /"monToken" must be a string without whitespace .*; received "two words"/],
  ['logs', false, /"logs" must be "inherit", a directory, or an object of log settings; received false/],
  ['logs', { format: 'xml' }, /"logs.format" must be one of "text", "json"; received "xml"/],
  ['logs', { keep: -1 }, /"logs.keep" must be an integer from 0 to 1000; received -1/],
  ['logs', { buffer: 10 }, /"logs.buffer" must be an integer from 65536 to 1073741824; received 10/],
  ['logs', { dir: '' }, /"logs.dir" must be a non-empty string; received ""/],
  ['ecv', 'on', /"ecv" must be an object; received "on"/],
  ['readySignal', 'no', /"readySignal" must be a boolean/],
  ['logger', { info() {} }, /"logger" must be a pino-compatible logger with a debug\(\) method/],
  ['timeout', 0, /"timeout" must be an integer from 1/],
  ['connThreshold', 0, /"connThreshold" must be an integer from 1/],
  ['maxRequests', '10', /"maxRequests" must be an integer from 1.*received "10"/],
  ['maxAge', -5, /"maxAge"/],
  ['maxMemory', 0.5, /"maxMemory"/],
  ['maxAge', 2 ** 31, /"maxAge" must be an integer from 1 to 2147483647/],
  ['shutdownTimeout', 0, /"shutdownTimeout"/],
  ['startTimeout', 0, /"startTimeout" must be an integer from 1 to 2147483647; received 0/],
  ['heartbeatInterval', 5, /"heartbeatInterval" must be an integer from 10/],
  ['maxHeartbeatDelay', 100, /"maxHeartbeatDelay" must be an integer from 5001/],
  ['idleGrace', -1, /"idleGrace"/],
  ['shutdownDelay', 'soon', /"shutdownDelay"/],
  ['restart', [], /"restart" must be an object/],
  ['maxMessageSize', 1023, /"maxMessageSize" must be an integer from 1024 to 1073741824; received 1023/],
  ['maxMessageSize', '1mb', /"maxMessageSize" must be an integer from 1024 .*received "1mb"/],
  ['maxPendingDelegations', 0, /"maxPendingDelegations" must be an integer from 1 to 10000000; received 0/],
  ['maxPendingDelegations', 1.5, /"maxPendingDelegations"/],
  ['limits', 64, /"limits" must be an object; received 64/],
];

describe('options', () => {
  it.each(INVALID)('rejects %s = %j with ERR_CLUSTER2_INVALID_OPTION', (name, value, message) => {
    const error = codeOf({ [name]: value });
    expect(error.code).toBe('ERR_CLUSTER2_INVALID_OPTION');
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ ecv: { path: 'ecv' } }, /"ecv.path" must be an absolute path/],
    [{ ecv: { control: 'yes' } }, /"ecv.control" must be a boolean/],
    [{ ecv: { monitor: 'health' } }, /"ecv.monitor" must be a path starting with "\/"/],
    [{ ecv: { validator: true } }, /"ecv.validator" must be a function/],
    [{ ecv: { timeout: 0 } }, /"ecv.timeout"/],
    [{ ecv: { disabledStatus: 200 } }, /"ecv.disabledStatus" must be an integer from 300 to 599; received 200/],
    [{ restart: { minDelay: -1 } }, /"restart.minDelay"/],
    [{ restart: { minDelay: 500, maxDelay: 100 } }, /"restart.maxDelay" must be at least restart.minDelay \(500\); received 100/],
    [{ restart: { maxRestarts: 'many' } }, /"restart.maxRestarts"/],
    [{ restart: { window: 0 } }, /"restart.window"/],
    [{ limits: { monitorConnections: 1 } }, /"limits.monitorConnections" must be an integer from 2 to 65536; received 1/],
    [{ limits: { eventStreams: -1 } }, /"limits.eventStreams" must be an integer from 0 to 65536; received -1/],
    [{ limits: { eventStreamLifetime: 500 } }, /"limits.eventStreamLifetime" must be an integer from 1000 to 2147483647; received 500/],
    [{ limits: { stickyPending: 0 } }, /"limits.stickyPending" must be an integer from 1 to 1048576; received 0/],
    [{ limits: { stickyHeadTimeout: 2.5 } }, /"limits.stickyHeadTimeout" must be an integer from 10 to 60000; received 2.5/],
  ])('rejects nested %j', (options, message) => {
    const error = codeOf(options);
    expect(error.code).toBe('ERR_CLUSTER2_INVALID_OPTION');
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ workers: 2 }, /unknown option "workers"/],
    [{ ecv: { paht: '/x' } }, /unknown option "ecv.paht"/],
    [{ logs: { colour: true } }, /unknown option "logs.colour"/],
    [{ restart: { retries: 2 } }, /unknown option "restart.retries"/],
    [{ limits: { maxConnections: 10 } }, /unknown option "limits.maxConnections"; known options are: limits.monitorConnections, limits.eventStreams/],
  ])('rejects unknown key %j with ERR_CLUSTER2_UNKNOWN_OPTION', (options, message) => {
    const error = codeOf(options);
    expect(error.code).toBe('ERR_CLUSTER2_UNKNOWN_OPTION');
    expect(error.message).toMatch(message);
  });

  it('rejects a monPort equal to an app port', () => {
    expect(codeOf({ port: 4000, monPort: 4000 })).toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: expect.stringMatching(/"monPort" must be a port other than the app port \(4000\); received 4000/),
    });
    expect(codeOf({ port: [4000, 4443], monPort: 4443 }).message).toMatch(/app ports \(4000, 4443\)/);
    expect(() => new Cluster({ port: 4000, monPort: 4000, monitor: false })).not.toThrow();
  });

  it('rejects a non-object', () => {
    expect(codeOf(5).code).toBe('ERR_CLUSTER2_INVALID_OPTION');
  });

  it('resolves defaults, freezes the result and leaves the caller object untouched', () => {
    const input: ClusterOptions = { port: 8080, ecv: { control: true }, restart: { maxRestarts: 3 } };
    const snapshot = structuredClone(input);
    const resolved = resolveOptions(input);
    expect(input).toEqual(snapshot);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.ecv)).toBe(true);
    expect(Object.isFrozen(resolved.restart)).toBe(true);
    expect(resolved).toMatchObject({
      cluster: true,
      port: 8080,
      host: '0.0.0.0',
      monPort: 3001,
      monHost: '127.0.0.1',
      timeout: 30_000,
      heartbeatInterval: 5000,
      maxHeartbeatDelay: 15_000,
      idleGrace: 250,
      shutdownDelay: 0,
      ecv: { path: '/ecv', control: true, timeout: 2000, disabledStatus: 400 },
      restart: { minDelay: 100, maxDelay: 15_000, maxRestarts: 3, window: 60_000 },
    });
    expect(resolved.noWorkers).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });

  it('bounds delegation by default: maxMessageSize 1 MiB, maxPendingDelegations 1000; both can be set', () => {
    expect(resolveOptions({})).toMatchObject({ maxMessageSize: 1024 * 1024, maxPendingDelegations: 1000 });
    expect(DEFAULTS).toMatchObject({ maxMessageSize: 1_048_576, maxPendingDelegations: 1000 });
    expect(resolveOptions({ maxMessageSize: 1024, maxPendingDelegations: 1 })).toMatchObject({ maxMessageSize: 1024, maxPendingDelegations: 1 });
  });

  it('resolves limits: defaults for what is left out, frozen', () => {
    expect(resolveOptions({}).limits).toEqual({
      monitorConnections: 64,
      eventStreams: 32,
      eventStreamLifetime: 300_000,
      stickyPending: 512,
      stickyHeadTimeout: 1000,
    });
    const resolved = resolveOptions({ limits: { eventStreams: 0, stickyHeadTimeout: 250 } });
    expect(resolved.limits).toEqual({ monitorConnections: 64, eventStreams: 0, eventStreamLifetime: 300_000, stickyPending: 512, stickyHeadTimeout: 250 });
    expect(Object.isFrozen(resolved.limits)).toBe(true);
    expect(DEFAULTS.limits).toEqual(resolveOptions({}).limits);
  });

  it('derives maxHeartbeatDelay from heartbeatInterval', () => {
    expect(resolveOptions({ heartbeatInterval: 100 }).maxHeartbeatDelay).toBe(300);
  });

  it.each<[string, unknown, RegExp]>([
    ['logger', 'pino', /"logger" must be a pino-compatible logger; received "pino"/],
    ['logger', null, /"logger" must be a pino-compatible logger; received null/],
    ['logger', () => {}, /"logger" must be a pino-compatible logger.*; received a function/],
    ['logger', { debug() {}, info() {}, warn() {} }, /"logger" must be a pino-compatible logger with a error\(\) method/],
    ['ecv', ['x', 1], /"ecv" must be an object; received \["x", 1\]/],
    ['port', { at: 80 }, /"port" must be .*; received \{"at":80\}/],
    ['limits', null, /"limits" must be an object; received null/],
    ['noWorkers', 1025, /"noWorkers" must be an integer from 1 to 1024; received 1025/],
    ['monToken', 'tab\there', /"monToken" must be a string without whitespace/],
    ['pids', '', /"pids" must be a directory path or false; received ""/],
    ['scheduling', 'OS', /"scheduling" must be "round-robin" or "os"; received "OS"/],
    ['sticky', { header: 'bad header' }, /"sticky.header" must be an HTTP header name/],
    ['options', 'x', /./],
  ])('names the option and what it received: %s = %j', (name, value, message) => {
    const error = name === 'options' ? codeOf(value) : codeOf({ [name]: value });
    expect(error.code).toBe('ERR_CLUSTER2_INVALID_OPTION');
    expect(error.message).toMatch(name === 'options' ? /option "options" must be an object; received "x"/ : message);
  });

  it('describes a value it cannot print as JSON as "an object"', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf({ port: cyclic }).message).toMatch(/received an object$/);
  });

  it('accepts the edges of what is valid', () => {
    expect(resolveOptions({ noWorkers: 1024 }).noWorkers).toBe(1024);
    expect(resolveOptions({ restart: { minDelay: 500, maxDelay: 500 } }).restart).toMatchObject({ minDelay: 500, maxDelay: 500 });
    expect(resolveOptions({ scheduling: 'os' }).scheduling).toBe('os');
    expect(resolveOptions({ pids: false }).pids).toBe(false);
    expect(resolveOptions({ pids: 'run' }).pids).toBe('run');
    expect(resolveOptions({ monToken: 'n0-whitespace' }).monToken).toBe('n0-whitespace');
    expect(resolveOptions({ ecv: { monitor: '/status' } }).ecv.monitor).toBe('/status');
    expect(resolveOptions({ sticky: true }).sticky).toEqual({ header: undefined });
    expect(resolveOptions({ sticky: false }).sticky).toBe(false);
    expect(resolveOptions({ sticky: { header: 'X-Forwarded-For' } }).sticky).toEqual({ header: 'x-forwarded-for' });
    // With the monitor off, or on an OS-chosen port, monPort may equal the app port.
    expect(resolveOptions({ port: 0, monPort: 0 }).monPort).toBe(0);
  });

  it('refuses an ecv.monitor path without a leading slash, sticky with scheduling "os", and a maxDelay under minDelay', () => {
    expect(codeOf({ ecv: { monitor: 'status/' } }).message).toMatch(/"ecv.monitor" must be a path starting with/);
    expect(codeOf({ sticky: true, scheduling: 'os' }).message).toMatch(/"sticky" must be false when option "scheduling" is "os"/);
    expect(codeOf({ restart: { minDelay: 500, maxDelay: 499 } }).message).toMatch(/"restart.maxDelay" must be at least restart.minDelay \(500\)/);
  });

  it('documents its defaults in DEFAULTS (the values the docs list)', () => {
    expect(DEFAULTS).toMatchObject({
      pids: './pids',
      logs: { capture: true, stdout: true, dir: false, files: 'stream', format: 'text', time: false, maxSize: 10485760, keep: 5, gzip: false },
      readySignal: false,
      ecv: { path: '/ecv', control: false, timeout: 2000, disabledStatus: 400 },
    });
    expect(resolveOptions({})).toMatchObject({
      pids: './pids',
      logs: { capture: true, stdout: true, dir: false, format: 'text' },
      readySignal: false,
      ecv: { path: '/ecv', control: false, monitor: undefined, validator: undefined },
    });
    expect(resolveOptions({ logs: 'inherit' }).logs.capture).toBe(false);
    expect(resolveOptions({ logs: './var/log' }).logs).toMatchObject({ capture: true, stdout: true, dir: './var/log' });
  });
});
