import { EventEmitter } from 'node:events';
import { Cluster2Error } from '../errors.js';
import { type EcvHost, EcvState } from '../ecv/state.js';
import { localPair } from '../ipc/channel.js';
import type { MasterChannel, MasterToWorker, WorkerToMaster } from '../ipc/messages.js';
import type { MonitorSource } from '../monitor/source.js';
import type { ClusterStatus, RefusedReason, WorkerStats, DelegationStats } from '../status.js';
import { portsOf, type ResolvedOptions } from '../options.js';
import type { ServerFactory } from '../worker/factory.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { plainHttpEcv } from '../worker/plain-http-ecv.js';
import { EventLog } from '../primary/event-log.js';
import { truncateMessage } from '../ipc/size.js';
import { PidFiles } from '../primary/pidfiles.js';
import { claimPort } from '../primary/ports.js';
import { installSignals } from '../primary/signals.js';
import { PressureCounters } from '../primary/pressure.js';

export interface SingleHost {
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  exit(code: number): void;
  /** What delegation holds and refused, for the status. */
  delegationStats?(): DelegationStats;
}

/**
 * `cluster: false`: the worker runtime and the master's duties (pid file, signals, ECV switch,
 * monitor) in one process, with the same API. Recycling and reload need a second process, so
 * they warn instead.
 */
export class SingleProcess extends EventEmitter implements MonitorSource {
  readonly ecv = new EcvState(new Date());
  readonly #options: ResolvedOptions;
  readonly #host: SingleHost;
  readonly #pidFiles: PidFiles | undefined;
  readonly #startedAt = Date.now();
  readonly #eventLog = new EventLog(this);
  readonly #pressure = new PressureCounters((message) => this.#warn(message));
  #runtime: WorkerRuntime | undefined;
  #ports: number[] = [];
  #stats: WorkerStats | undefined;
  #removeSignals: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #afterStop: Array<() => Promise<void> | void> = [];
  #warnedRecycle = false;

  constructor(options: ResolvedOptions, host: SingleHost) {
    super();
    this.#options = options;
    this.#host = host;
    this.#pidFiles = options.pids === false ? undefined : new PidFiles(options.pids);
  }

  onStop(hook: () => Promise<void> | void): void {
    this.#afterStop.push(hook);
  }

  async start(factory: ServerFactory, beforeListen: (ports: number[]) => Promise<void> = async () => {}): Promise<number[]> {
    for (const port of portsOf(this.#options.port)) this.#ports.push(await claimPort(port, this.#options.host));
    await beforeListen(this.#ports);
    const [master, worker] = localPair<WorkerToMaster, MasterToWorker>();
    this.#wire(master);
    this.#runtime = new WorkerRuntime(this.#options, this.#ports, worker, {
      emit: (event, ...args) => this.#host.emit(event, ...args),
      exit: (code) => void this.#finish(code),
    });
    this.#removeSignals = installSignals(this, this.#host);
    this.#ports = await this.#runtime.start(factory, plainHttpEcv(this.ecvHost()));
    return this.#ports;
  }

  /** Takes the pids directory before anything starts: throws ERR_CLUSTER2_PIDS_IN_USE / _UNWRITABLE. */
  claimPidFiles(): void {
    this.#pidFiles?.claim();
  }

  writePidFiles(monitor: { host: string; port: number } | null): void {
    this.#pidFiles?.writeMaster({ pid: process.pid, ports: this.#ports, host: this.#options.host, monitor, startedAt: this.#startedAt });
  }

  ecvHost(): EcvHost {
    return {
      options: this.#options.ecv,
      monToken: this.#options.monToken,
      snapshot: () => this.ecv.snapshot(),
      draining: () => this.draining,
      set: (enabled) => (enabled ? this.enable() : this.disable()),
    };
  }

  /** True while this process drains (shutdown) and after. */
  get draining(): boolean {
    return this.#runtime?.draining ?? false;
  }

  #wire(master: MasterChannel): void {
    master
      .handle('listening', () => this.#eventLog.add({ type: 'listening', pid: process.pid }))
      .handle('heartbeat', (stats) => {
        this.#stats = stats;
        this.#host.emit('heartbeat', { pid: process.pid, workers: this.status().workers, totals: this.status().totals });
        this.emit('heartbeat', this.status());
      })
      .handle('recycle', ({ reason }) => {
        if (this.#warnedRecycle) return;
        this.#warnedRecycle = true;
        this.#warn(`${reason} reached, but cluster: false has no second process to recycle into; carrying on`);
      })
      .handle('warning', ({ message }) => this.#warn(message));
  }

  ready(): void {
    this.#runtime?.ready();
  }

  async enable(): Promise<void> {
    if (this.ecv.set(true)) this.#changed('enabled');
  }

  async disable(): Promise<void> {
    if (this.ecv.set(false)) this.#changed('disabled');
  }

  #changed(type: 'enabled' | 'disabled'): void {
    this.#eventLog.add({ type });
    process.nextTick(() => this.#host.emit(type));
  }

  reload(): Promise<void> {
    const message = 'reload needs cluster: true; a single process cannot replace itself';
    this.#warn(message);
    const error = new Cluster2Error('ERR_CLUSTER2_RELOAD_UNAVAILABLE', message);
    // `cluster2 reload` waits for an outcome in the pids directory: give it one at once.
    const now = Date.now();
    try {
      this.#pidFiles?.writeReload({ state: 'failed', startedAt: now, endedAt: now, error: { code: error.code, message } });
    } catch {
      // An unwritable pids directory already failed the start; nothing more to tell here.
    }
    return Promise.reject(error);
  }

  restartWorker(): boolean {
    return false;
  }

  shutdown(): Promise<void> {
    this.#eventLog.add({ type: 'shutdown' });
    if (!this.#runtime) return this.#finish(0);
    void this.#runtime.drain('master', this.#options.shutdownDelay);
    return this.#exited();
  }

  stop(): Promise<void> {
    this.#runtime?.traffic.destroyAll();
    return this.#finish(0);
  }

  #exited(): Promise<void> {
    return new Promise((resolve) => this.once('finished', resolve));
  }

  #finish(code: number): Promise<void> {
    this.#stopping ??= (async () => {
      this.#removeSignals?.();
      for (const hook of this.#afterStop) await Promise.resolve(hook()).catch(() => {});
      this.#pidFiles?.removeAll([]);
      this.#eventLog.add({ type: 'stopped' });
      this.#host.emit('stopped');
      this.emit('finished');
      this.#host.exit(code);
    })();
    return this.#stopping;
  }

  status(): ClusterStatus {
    const phase = this.#runtime?.phase ?? 'starting';
    const stats = this.#stats;
    return {
      master: {
        pid: process.pid,
        state: phase === 'draining' ? 'shutting-down' : phase === 'listening' ? 'running' : 'starting',
        uptime: Math.round((Date.now() - this.#startedAt) / 1000),
        startedAt: this.#startedAt,
        ports: [...this.#ports],
        host: this.#options.host,
        noWorkers: 1,
        node: process.version,
        cluster: false,
      },
      workers: [
        {
          ...stats,
          pid: process.pid,
          id: 0,
          instance: 0,
          state: phase,
          startedAt: this.#startedAt,
          restarts: 0,
          lastHeartbeat: stats ? Date.now() : undefined,
        },
      ],
      totals: {
        workers: 1,
        rss: stats?.rss ?? 0,
        heapUsed: stats?.heapUsed ?? 0,
        connections: stats?.connections ?? 0,
        totalConnections: stats?.totalConnections ?? 0,
        requests: stats?.requests ?? 0,
        inFlight: stats?.inFlight ?? 0,
        upgraded: stats?.upgraded ?? 0,
        idleCloses: stats?.idleCloses ?? 0,
      },
      ecv: this.ecv.status(),
      restarts: {},
      events: this.#eventLog.list(),
      delegation: this.#host.delegationStats?.(),
      pressure: this.#pressure.status(),
    };
  }

  countRefused(reason: RefusedReason): void {
    this.#pressure.refused(reason);
  }

  countAcceptError(server: string, error: NodeJS.ErrnoException): void {
    this.#pressure.acceptError(server, error);
  }

  #warn(message: string): void {
    message = truncateMessage(message);
    this.#eventLog.add({ type: 'warning', pid: process.pid, message });
    process.nextTick(() => this.#host.emit('warning', { pid: process.pid, message }));
  }
}
