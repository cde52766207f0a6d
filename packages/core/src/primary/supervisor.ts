import cluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { debuglog } from 'node:util';
import { Cluster2Error } from '../errors.js';
import type { MonitorSource } from '../monitor/source.js';
import type { ClusterStatus, LogQuery, LogRecord, MasterState, RecycleReason, RefusedReason, WorkerStats } from '../status.js';
import { portsOf, type ResolvedOptions } from '../options.js';
import { truncateMessage } from '../ipc/size.js';
import { INTAKE_CLOSED } from '../ipc/messages.js';
import { EcvBroadcast } from './ecv-broadcast.js';
import type { EcvState } from '../ecv/state.js';
import { EventLog } from './event-log.js';
import { MasterLogs } from './logs/master-logs.js';
import type { MasterContext, SupervisorHost } from './master-context.js';
import { MasterStateMachine } from './master-state.js';
import { PidFiles, type MasterInfo } from './pidfiles.js';
import { claimPort } from './ports.js';
import { PressureCounters } from './pressure.js';
import { Reloads } from './reloads.js';
import { Shutdown } from './shutdown.js';
import { installSignals } from './signals.js';
import { Spawner } from './spawner.js';
import { StickyGate } from './sticky-gate.js';
import { WorkerTable, type WorkerRecord } from './workers.js';
import type { AppEntry } from '../app-entry.js';

export type { SupervisorHost } from './master-context.js';
export { STOP_KILL_DELAY } from './shutdown.js';

const debug = debuglog('cluster2');

/**
 * The master: forks and watches workers, respawns with backoff, recycles successor-first,
 * reloads, shuts down, and keeps the figures the monitor shows. Each of those lives in its own
 * part (spawner, reloads, shutdown, ECV broadcast, sticky gate); this composes them and routes
 * the workers' messages.
 */
export class Supervisor extends EventEmitter implements MonitorSource {
  readonly #options: ResolvedOptions;
  readonly #host: SupervisorHost;
  readonly #context: MasterContext;
  readonly #table = new WorkerTable();
  readonly #state = new MasterStateMachine();
  readonly #eventLog = new EventLog(this);
  readonly #logs: MasterLogs;
  readonly #pressure = new PressureCounters((message) => this.#warn(message));
  readonly #startedAt = Date.now();
  readonly #ecv: EcvBroadcast;
  readonly #sticky: StickyGate;
  readonly #spawner: Spawner;
  readonly #reloads: Reloads;
  readonly #shutdown: Shutdown;
  #ports: number[] = [];
  readonly #app: AppEntry | undefined;
  /** Where the monitor listens, as the pid file names it (rewritten once an app's ports are known). */
  #monitorAddress: { host: string; port: number } | null = null;
  #ticker: NodeJS.Timeout | undefined;
  #removeSignals: (() => void) | undefined;
  /** Settles `start()`: once `noWorkers` listen, or on give-up. */
  #startup: { resolve(): void; reject(error: Error): void } | undefined;

  /**
   * With `app`, workers run that entry (cluster.run(), `cluster2 start`) and the app picks its
   * ports; without, they run this process's own script, which listens through a factory.
   */
  constructor(options: ResolvedOptions, app: AppEntry | undefined, host: SupervisorHost) {
    super();
    this.#options = options;
    this.#app = app;
    this.#host = host;
    this.#logs = new MasterLogs(options, this, (message) => this.#warn(message));
    this.#context = {
      options,
      host,
      table: this.#table,
      state: this.#state,
      eventLog: this.#eventLog,
      logs: this.#logs,
      pidFiles: options.pids === false ? undefined : new PidFiles(options.pids),
      restarts: {},
      warn: (message, pid) => this.#warn(message, pid),
      emitSoon: (event, ...args) => process.nextTick(() => host.emit(event, ...args)),
    };
    this.#ecv = new EcvBroadcast(this.#context, new Date(this.#startedAt));
    this.#sticky = new StickyGate(this.#context, this.#pressure);
    let reloads: Reloads | undefined;
    this.#spawner = new Spawner(this.#context, {
      ports: () => this.#ports,
      ecv: this.#ecv,
      sticky: this.#sticky,
      workerEnv: app?.env ?? {},
      wire: (record) => this.#wire(record),
      isReplacing: (record) => reloads!.isReplacing(record),
      giveUp: (reason) => this.#giveUp(reason),
    });
    this.#reloads = reloads = new Reloads(this.#context, this.#spawner);
    this.#shutdown = new Shutdown(this.#context, {
      spawner: this.#spawner,
      reloads: this.#reloads,
      sticky: this.#sticky,
      stopServices: () => {
        clearInterval(this.#ticker);
        this.#removeSignals?.();
        process.stderr.off('error', onStderrError);
      },
      closeLogs: () => this.#logs.close(),
    });
  }

  /** The master's lifecycle state (status().master.state). */
  get state(): MasterState {
    return this.#state.current;
  }

  get ecv(): EcvState {
    return this.#ecv.state;
  }

  get ports(): readonly number[] {
    return this.#ports;
  }

  /** Runs `hook` when the master stops, before it exits (monitor close, …). */
  onStop(hook: () => Promise<void> | void): void {
    this.#shutdown.onStop(hook);
  }

  /** Checks the ports, forks `noWorkers` and resolves once every one listens. */
  async start(beforeFork: (ports: number[]) => Promise<void> = async () => {}): Promise<number[]> {
    const { host } = this.#options;
    this.#ports = [];
    // An app entry listens on ports of its own choosing: they are known once its first worker listens.
    if (!this.#app) {
      for (const port of portsOf(this.#options.port)) this.#ports.push(await claimPort(port, host));
      await this.#sticky.listen(this.#ports, host);
    }
    await beforeFork(this.#ports);
    cluster.schedulingPolicy = this.#options.scheduling === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
    // stderr always comes through the master so the death of a worker that never listened can be
    // reported with its last lines (a broken deploy's SyntaxError is only there); with log capture,
    // stdout too, and both are written labelled.
    const stdout = this.#options.logs.capture ? 'pipe' : 'inherit';
    cluster.setupPrimary({ stdio: ['inherit', stdout, 'pipe', 'ipc'], ...(this.#app && { execArgv: [...process.execArgv, ...this.#app.nodeArgs] }) });
    // With workers' stderr passing through here, a reader of ours that went away (EPIPE) would
    // otherwise be an uncaught 'error' that takes the master, and every worker, down.
    process.stderr.on('error', onStderrError);
    this.#removeSignals = installSignals(this, this.#host);
    this.#ticker = setInterval(() => this.#tick(), this.#options.heartbeatInterval).unref();
    const allListening = new Promise<void>((resolve, reject) => {
      this.#startup = { resolve, reject };
    });
    for (let i = 0; i < this.#options.noWorkers; i++) this.#spawner.fill(0);
    await allListening;
    return this.#ports;
  }

  /** Sends a raw (non-envelope) message to one worker: delegation answers. Unknown or gone pids are ignored. */
  sendRaw(pid: number, message: object): void {
    const record = this.#table.get(pid);
    if (record?.worker.isConnected()) record.worker.send(message, undefined, () => {});
  }

  /** Takes the pids directory before anything starts: throws ERR_CLUSTER2_PIDS_IN_USE / _UNWRITABLE. */
  claimPidFiles(): void {
    this.#context.pidFiles?.claim();
  }

  writePidFiles(monitor: { host: string; port: number } | null): void {
    this.#monitorAddress = monitor;
    const { pidFiles } = this.#context;
    pidFiles?.writeMaster({
      pid: process.pid,
      ports: this.#ports,
      host: this.#options.host,
      monitor,
      startedAt: this.#startedAt,
      logs: this.#logsInfo(),
    });
    for (const record of this.#table.all()) pidFiles?.writeWorker(record.pid);
  }

  /** Replaces one worker successor-first; resolves once the successor listens and the old one drains. */
  recycle(pid: number, reason: RecycleReason): Promise<void> {
    return this.#reloads.recycle(pid, reason);
  }

  /** Rolling reload: every worker, one at a time, successor first (at most one more waits). */
  reload(): Promise<void> {
    return this.#reloads.reload();
  }

  restartWorker(pid: number): boolean {
    return this.#reloads.restartWorker(pid);
  }

  async enable(): Promise<void> {
    await this.#ecv.set(true);
  }

  async disable(): Promise<void> {
    await this.#ecv.set(false);
  }

  /** Graceful: ECV unavailable, listeners closed after shutdownDelay, in-flight work answered. */
  shutdown(): Promise<void> {
    return this.#shutdown.end('shutting-down', 0);
  }

  /** Fast: SIGTERM to every worker, SIGKILL after 2 s. */
  stop(): Promise<void> {
    return this.#shutdown.end('stopping', 0);
  }

  #wire(record: WorkerRecord): void {
    const { worker, channel } = record;
    channel
      .handle('listening', ({ ports }) => this.#onListening(record, ports))
      .handle('heartbeat', (stats) => this.#onHeartbeat(record, stats))
      .handle('recycle', ({ reason }) => this.recycle(record.pid, reason).catch(() => {}))
      .handle('warning', ({ message }) => this.#warn(message, record.pid))
      .handle('shutdown', () => void this.shutdown())
      .handle('stop', () => void this.stop())
      .handle('reload', () => this.reload())
      // A draining worker's last word before it exits: by now node:cluster no longer routes it connections.
      .handle('drained', () => true)
      .handle(INTAKE_CLOSED, (drain) => {
        this.#sticky.intakeClosed(record);
        this.#eventLog.add({ type: 'draining', pid: record.pid, sockets: drain?.sockets });
      })
      .handle('ecv:set', ({ enabled }) => (enabled ? this.enable() : this.disable()))
      .handle('ecv:get', () => this.#ecv.synced(record));
    worker.on('message', (message: unknown) => {
      if (!channel.dispatch(message)) this.#host.onForeignMessage(record.pid, message);
    });
    // An 'error' on the worker's IPC (EPIPE while it dies) must not crash the master.
    worker.on('error', (error: Error) => debug('worker %d ipc error: %s', record.pid, error.message));
  }

  #onListening(record: WorkerRecord, ports: number[]): void {
    if (record.state !== 'starting') return;
    if (this.#app && this.#ports.length === 0 && ports.length > 0) {
      this.#ports = [...ports];
      this.writePidFiles(this.#monitorAddress);
    }
    record.moveTo('listening');
    record.lastHeartbeat = Date.now();
    record.markListening();
    this.#eventLog.add({ type: 'listening', pid: record.pid });
    this.#context.emitSoon('listening', record.pid);
    this.#sticky.flush();
    if (this.#startup && this.#table.serving().length >= this.#options.noWorkers) {
      this.#state.moveTo('running');
      this.#startup.resolve();
      this.#startup = undefined;
    }
  }

  #onHeartbeat(record: WorkerRecord, stats: WorkerStats): void {
    record.stats = stats;
    record.lastHeartbeat = Date.now();
    if (this.#options.maxMemory !== undefined && stats.rss > this.#options.maxMemory * 1024 * 1024) {
      this.recycle(record.pid, 'maxMemory').catch(() => {});
    }
  }

  #giveUp(reason: string): void {
    this.#state.moveTo('gave-up');
    this.#eventLog.add({ type: 'giveup', reason });
    // The reason is fatal: it reaches stderr even when no log line does.
    const { capture, stdout } = this.#options.logs;
    if (!capture || !stdout) process.stderr.write(`cluster2: giving up: ${reason}\n`);
    this.#context.emitSoon('giveup', reason);
    this.#startup?.reject(new Cluster2Error('ERR_CLUSTER2_GAVE_UP', `cluster2 gave up: ${reason}`));
    this.#startup = undefined;
    void this.#shutdown.end('stopping', 1);
  }

  #tick(): void {
    const now = Date.now();
    for (const record of this.#table.serving()) {
      if (record.lastHeartbeat !== undefined && now - record.lastHeartbeat > this.#options.maxHeartbeatDelay) {
        this.#warn(`worker ${record.pid} sent no heartbeat for ${now - record.lastHeartbeat} ms; replacing it`, record.pid);
        this.recycle(record.pid, 'heartbeat').catch(() => {});
      }
    }
    const status = this.status();
    this.#host.emit('heartbeat', { pid: process.pid, workers: status.workers, totals: status.totals });
    this.emit('heartbeat', status);
  }

  status(): ClusterStatus {
    return {
      master: {
        pid: process.pid,
        state: this.#state.current,
        uptime: Math.round((Date.now() - this.#startedAt) / 1000),
        startedAt: this.#startedAt,
        ports: [...this.#ports],
        host: this.#options.host,
        noWorkers: this.#options.noWorkers,
        node: process.version,
        cluster: true,
      },
      workers: this.#table.status(),
      totals: this.#table.totals(),
      ecv: this.#ecv.state.status(),
      restarts: { ...this.#context.restarts },
      events: this.#eventLog.list(),
      reload: this.#reloads.lastReload,
      delegation: this.#host.delegationStats?.(),
      pressure: this.#pressure.status(),
      ...(this.#logs.capture && { logs: this.#logs.capture.counts }),
    };
  }

  /** The last captured lines, filtered (the monitor's viewer, `cluster2 logs` without files). */
  recentLogs(query: LogQuery): { lines: LogRecord[]; dropped: number } {
    return this.#logs.capture?.recent(query) ?? { lines: [], dropped: 0 };
  }

  /** Reopens the log files, after an external logrotate moved them. */
  reopenLogs(): void {
    this.#logs.capture?.reopen();
  }

  #logsInfo(): MasterInfo['logs'] {
    const { capture, dir, files, format } = this.#options.logs;
    return capture ? { dir: dir === false ? null : path.resolve(dir), files, format } : null;
  }

  countRefused(reason: RefusedReason): void {
    this.#pressure.refused(reason);
  }

  countAcceptError(server: string, error: NodeJS.ErrnoException): void {
    this.#pressure.acceptError(server, error);
  }

  #warn(message: string, pid?: number): void {
    // Cut on arrival: a worker's 5 MB warning must not reach the event, the logger or the SSE stream whole.
    message = truncateMessage(message);
    this.#eventLog.add({ type: 'warning', pid, message });
    this.#context.emitSoon('warning', { pid: pid ?? process.pid, message });
  }
}

function onStderrError(error: Error): void {
  debug('master stderr: %s', error.message);
}
