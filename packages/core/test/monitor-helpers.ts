// Shared by the monitor-*.test.ts and cli-*.test.ts files: an in-test MonitorSource and a
// real monitor server on an ephemeral loopback port, and raw clients of its HTTP and event stream.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startMonitor } from '../src/monitor/lazy.js';
import type { MonitorServer } from '../src/monitor/server.js';
import type { MonitorSource } from '../src/monitor/source.js';
import type { ClusterStatus, LifecycleEvent, LogQuery, LogRecord, WorkerStatus } from '../src/status.js';
import { tempDir } from './helpers.js';

export function makeWorker(pid: number, id: number, extra: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    pid,
    id,
    instance: id - 1,
    state: 'listening',
    startedAt: Date.now() - 60_000,
    restarts: 0,
    uptime: 60,
    rss: 50 * 1024 * 1024,
    heapUsed: 20 * 1024 * 1024,
    heapTotal: 30 * 1024 * 1024,
    cpu: 12.5,
    eventLoopDelay: 1.5,
    connections: 3,
    totalConnections: 30,
    requests: 300,
    inFlight: 1,
    upgraded: 2,
    ...extra,
  };
}

export function makeStatus(workers: WorkerStatus[] = [makeWorker(4101, 1), makeWorker(4102, 2)]): ClusterStatus {
  const live = workers.filter((w) => w.state !== 'dead');
  const sum = (read: (w: WorkerStatus) => number | undefined): number => live.reduce((total, w) => total + (read(w) ?? 0), 0);
  return {
    master: {
      pid: 4100,
      state: 'running',
      uptime: 120,
      startedAt: Date.now() - 120_000,
      ports: [3000],
      host: '0.0.0.0',
      noWorkers: 2,
      node: process.version,
      cluster: true,
    },
    workers,
    totals: {
      workers: live.length,
      rss: sum((w) => w.rss),
      heapUsed: sum((w) => w.heapUsed),
      connections: sum((w) => w.connections),
      totalConnections: sum((w) => w.totalConnections),
      requests: sum((w) => w.requests),
      inFlight: sum((w) => w.inFlight),
      upgraded: sum((w) => w.upgraded),
      idleCloses: sum((w) => w.idleCloses),
    },
    ecv: { state: 'enabled', since: new Date(0).toString() },
    restarts: { crash: 1, maxMemory: 2 },
    events: [{ time: Date.now() - 1000, type: 'forked', pid: 4101 }],
  };
}

/** A MonitorSource whose status the test sets, recording every control call. */
export class FakeSource extends EventEmitter implements MonitorSource {
  current: ClusterStatus = makeStatus();
  readonly calls: string[] = [];
  reloadResult: Promise<void> = Promise.resolve();
  /** Every countRefused() reason, in order. */
  readonly refused: string[] = [];

  status(): ClusterStatus {
    return this.current;
  }

  async enable(): Promise<void> {
    this.calls.push('enable');
    this.current = { ...this.current, ecv: { state: 'enabled', since: new Date().toString() } };
  }

  async disable(): Promise<void> {
    this.calls.push('disable');
    this.current = { ...this.current, ecv: { state: 'disabled', since: new Date().toString() } };
  }

  reload(): Promise<void> {
    this.calls.push('reload');
    return this.reloadResult;
  }

  restartWorker(pid: number): boolean {
    this.calls.push(`restart:${pid}`);
    return this.current.workers.some((w) => w.pid === pid && w.state !== 'dead');
  }

  countRefused(reason: string): void {
    this.refused.push(reason);
  }

  /** The captured lines recentLogs() serves (oldest first), and the queries it was asked. */
  logRecords: LogRecord[] = [];
  logsDropped = 0;
  readonly logQueries: LogQuery[] = [];

  recentLogs(query: LogQuery): { lines: LogRecord[]; dropped: number } {
    this.logQueries.push(query);
    const lines = this.logRecords.filter(
      (r) => (query.worker === undefined || r.worker === query.worker) && (query.stream === undefined || r.stream === query.stream),
    );
    return { lines: lines.slice(-(query.lines ?? 200)), dropped: this.logsDropped };
  }

  reopenLogs(): void {
    this.calls.push('reopen-logs');
  }

  lifecycle(event: Omit<LifecycleEvent, 'time'>): void {
    this.emit('lifecycle', { time: Date.now(), ...event });
  }
}

export interface TestMonitor {
  source: FakeSource;
  monitor: MonitorServer;
  base: string;
  port: number;
  logsDir: string;
  appRoot: string;
  tmp: string;
  close(): Promise<void>;
}

/** Starts a real monitor on 127.0.0.1:0 over a FakeSource, with temp logs and app dirs. */
export async function startTestMonitor(
  options: { token?: string; source?: FakeSource; keepAliveMs?: number; maxConnections?: number; maxStreams?: number; streamLifetimeMs?: number } = {},
): Promise<TestMonitor> {
  const tmp = tempDir('monitor');
  const logsDir = path.join(tmp, 'logs');
  const appRoot = path.join(tmp, 'app');
  fs.mkdirSync(logsDir);
  fs.mkdirSync(appRoot);
  const source = options.source ?? new FakeSource();
  const monitor = await startMonitor({
    source,
    host: '127.0.0.1',
    port: 0,
    logsDir,
    appRoot,
    ...(options.token === undefined ? {} : { token: options.token }),
    sse: { keepAliveMs: options.keepAliveMs ?? 15_000, minStatusIntervalMs: 50, maxClients: options.maxStreams, lifetimeMs: options.streamLifetimeMs },
    maxConnections: options.maxConnections,
  });
  return {
    source,
    monitor,
    base: `http://127.0.0.1:${monitor.address.port}`,
    port: monitor.address.port,
    logsDir,
    appRoot,
    tmp,
    close: async () => {
      await monitor.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends the request target verbatim (fetch would normalise `..` away before sending). */
export function rawRequest(
  port: number,
  target: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One parsed message of the monitor's event stream. */
export interface SseMessage {
  event: string;
  data: unknown;
}

/** A raw client of `GET /api/events`: what it has received so far, parsed. */
export interface EventStream {
  messages: SseMessage[];
  /** Whole comment blocks (keep-alive pings), as sent. */
  comments: string[];
  headers: http.IncomingHttpHeaders;
  close(): void;
}

/** Opens the monitor's event stream with a plain http.get (no EventSource), resolving once the headers arrive. */
export function openEventStream(port: number): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/events', agent: false }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) {
            comments.push(block);
            continue;
          }
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined) messages.push({ event, data: JSON.parse(data ?? 'null') });
        }
      });
      res.on('error', () => {});
      resolve({ messages, comments, headers: res.headers, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `error.code` of a monitor JSON error answer. */
export async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}
