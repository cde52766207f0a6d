import type net from 'node:net';
import { debuglog } from 'node:util';
import { INTAKE_CLOSED, type WorkerChannel } from '../ipc/messages.js';
import { truncateMessage } from '../ipc/size.js';
import type { RecycleReason, WorkerStats, WorkerState } from '../status.js';
import type { ResolvedOptions } from '../options.js';
import { callFactory, listenAll, type ServerFactory } from './factory.js';
import { runDrainedHooks, runDrainingHooks } from '../context.js';
import { isEcvMounted } from '../ecv/mounted.js';
import { StatsSampler } from './stats.js';
import { StickyIntake } from './sticky-intake.js';
import { claimLateHandoffs } from './late-handoff.js';
import { Traffic, servesHttp, type RequestInterceptor } from './traffic.js';
import { ServerAdoption } from './adopt.js';
import { checkWorkerMove, isDrainingState } from '../worker-state.js';

const debug = debuglog('cluster2');

/** Why a worker drains: the master asked, it was signalled, or the master is gone. */
export type DrainCause = 'master' | 'signal' | 'master-gone' | 'self';

export interface RuntimeHost {
  /** Emits on the Cluster in this process (`shutdown`, `draining`, `warning`). */
  emit(event: string, ...args: unknown[]): void;
  /** Ends the process; injectable so single-process mode and tests can observe it. */
  exit(code: number): void;
}

/** Per-worker thresholds, jittered up to +25 % so that workers started together do not recycle together. */
function jittered(value: number | undefined, factor: number): number | undefined {
  return value === undefined ? undefined : Math.round(value * factor);
}

/**
 * Everything a worker does around the app's server: listen, track traffic, report heartbeats,
 * ask to be recycled, and drain on request.
 */
export class WorkerRuntime {
  #phase: WorkerState = 'starting';
  readonly traffic: Traffic;
  readonly #options: ResolvedOptions;
  readonly #channel: WorkerChannel;
  readonly #host: RuntimeHost;
  readonly #ports: readonly number[];
  readonly #sampler = new StatsSampler((message) => this.#report(message));
  readonly #limits: { connThreshold?: number; maxRequests?: number; maxAge?: number };
  readonly #startedAt = Date.now();
  #servers: net.Server[] = [];
  /** Each server by the port it listens on, noted as it starts listening: a closed server no longer knows its port, and the drain's late hand-offs are routed by it. */
  readonly #serverByPort = new Map<number, net.Server>();
  #heartbeat: NodeJS.Timeout | undefined;
  #recycleAsked: RecycleReason | undefined;
  /** A heartbeat failed once already (reported once, not on every beat). */
  #beatFailed = false;
  #readyResolve: (() => void) | undefined;
  #ready: Promise<void>;
  #drained: Promise<void> | undefined;
  /** With sticky sessions the master accepts and hands connections over: the servers never listen. */
  readonly #stickyIntake: StickyIntake | undefined;

  constructor(options: ResolvedOptions, ports: readonly number[], channel: WorkerChannel, host: RuntimeHost) {
    this.#options = options;
    this.#ports = ports;
    this.#channel = channel;
    this.#host = host;
    const factor = 1 + Math.random() * 0.25;
    this.#limits = {
      connThreshold: jittered(options.connThreshold, factor),
      maxRequests: jittered(options.maxRequests, factor),
      maxAge: jittered(options.maxAge, factor),
    };
    this.#ready = options.readySignal
      ? new Promise((resolve) => {
          this.#readyResolve = resolve;
        })
      : Promise.resolve();
    this.traffic = new Traffic({
      timeout: options.timeout,
      idleGrace: options.idleGrace,
      onConnection: (total) => this.#checkCount('connThreshold', total),
      onRequest: (total) => this.#checkCount('maxRequests', total),
      // Routine for a keep-alive client: counted in the heartbeat (idleCloses), not a warning each,
      // which would flood the master's event log with every idle client that went away.
      onIdleTimeout: (peer) => {
        debug('worker %d: closed connection %s:%s idle for %d ms', process.pid, peer.remoteAddress ?? '', peer.remotePort ?? '', options.timeout);
      },
    });
    this.#stickyIntake = options.cluster && options.sticky ? new StickyIntake(channel) : undefined;
    channel.handle('drain', ({ delay }) => this.drain('master', delay));
  }

  /** This worker's lifecycle state, as the master's record of it sees it too. */
  get phase(): WorkerState {
    return this.#phase;
  }

  /**
   * The one answer to "is this process draining" (Cluster#draining, the serving context, ECV):
   * true from the moment it starts draining.
   */
  get draining(): boolean {
    return isDrainingState(this.#phase);
  }

  #moveTo(next: WorkerState): void {
    this.#phase = checkWorkerMove(process.pid, this.#phase, next);
  }

  /** The servers the factory handed over (after start). */
  get servers(): readonly net.Server[] {
    return this.#servers;
  }

  /** Runs the factory, listens, and tells the master once ready. Rejects if the app cannot start. */
  async start(factory: ServerFactory, interceptor?: RequestInterceptor): Promise<number[]> {
    const servers = await callFactory(factory, this.#options.startTimeout);
    for (const server of servers) this.#take(server, interceptor);
    // With readySignal the worker listens only once the app says it has warmed up: a listening
    // worker gets connections at once (node:cluster hands them out on listen), warm or not.
    await this.#ready;
    const ports = this.#stickyIntake ? this.#stickyIntake.open(servers, this.#ports) : await listenAll(servers, this.#ports, this.#options.host);
    return this.#serve(ports);
  }

  /**
   * Runs an unmodified app, which creates its servers and listens on ports of its choosing: each
   * server is adopted as it calls listen(). Ready once one listens or, with readySignal, once the
   * app says so (it listens on its own schedule then, as under PM2's wait_ready).
   */
  async adopt(runApp: () => void, interceptor?: RequestInterceptor): Promise<number[]> {
    const adoption = new ServerAdoption(
      (server) => this.#take(server, interceptor),
      (message) => this.#report(message),
    );
    runApp();
    await (this.#options.readySignal ? this.#ready : adoption.whenListening(this.#options.startTimeout));
    return this.#serve(adoption.servers.map(portOf).filter((port) => port !== undefined));
  }

  /** Tracks a server of the app; plain http servers answer ECV through the interceptor, adapters serve it as routes. */
  #take(server: net.Server, interceptor: RequestInterceptor | undefined): void {
    this.#servers.push(server);
    this.traffic.attach(server, servesHttp(server) && !isEcvMounted(server) ? interceptor : undefined);
    const notePort = () => {
      const port = portOf(server);
      if (port !== undefined) this.#serverByPort.set(port, server);
    };
    if (server.listening) notePort();
    server.on('listening', notePort);
  }

  /** The servers listen: start the heartbeat and the age limit, and tell the master. */
  #serve(ports: number[]): number[] {
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatInterval).unref();
    if (this.#limits.maxAge !== undefined) {
      setTimeout(() => this.#askRecycle('maxAge'), this.#limits.maxAge).unref();
    }
    // A drain that began while the app was still starting (SIGTERM, the master gone) carries on.
    if (this.#phase === 'starting') this.#moveTo('listening');
    this.#channel.send('listening', { ports });
    this.#beat();
    return ports;
  }

  /** For `readySignal: true`: the app has warmed up and may take traffic. */
  ready(): void {
    this.#readyResolve?.();
  }

  /**
   * Stops accepting and drains: waits `delay` ms first (ECV already unavailable), then closes the
   * listener, answers in-flight requests and ends idle sockets; after `shutdownTimeout` it
   * destroys what is left. Exits the process when done. A second call joins the first.
   */
  drain(cause: DrainCause, delay = 0): Promise<void> {
    this.#drained ??= this.#drain(cause, delay);
    return this.#drained;
  }

  async #drain(cause: DrainCause, delay: number): Promise<void> {
    debug('worker %d draining (%s)', process.pid, cause);
    this.#moveTo('draining');
    this.#host.emit('shutdown');
    if (delay > 0) await sleep(delay);
    this.#announceDraining();
    const drainStartedAt = Date.now();
    const deadline = setTimeout(() => {
      this.#channel.send('warning', { message: `drain exceeded shutdownTimeout (${this.#options.shutdownTimeout} ms); destroying open sockets` });
      this.traffic.destroyAll();
    }, this.#options.shutdownTimeout);
    deadline.unref();
    // drain() closes the listeners at once; from then on this worker takes node:cluster's late
    // hand-offs itself (worker/late-handoff.ts), installed in the same tick so none slips past.
    const drained = this.traffic.drain();
    // After the close: node:cluster's primary reads it first on the same pipe, so once the master
    // hears this no new connection comes here (with sticky sessions, the master sends none), and
    // a recycle or reload may count this worker out.
    this.#channel.send(INTAKE_CLOSED, { sockets: this.traffic.counters().connections });
    if (this.#takesRoundRobinHandoffs()) {
      claimLateHandoffs((port) => this.#serverByPort.get(port));
    }
    await drained;
    // node:cluster's master may have handed this worker a connection just before it learnt that the
    // listener closed; exiting before it arrives would leave it stuck in the master, its client
    // waiting. A round trip after the close guarantees every such hand-off has arrived (IPC keeps
    // order), and the second drain serves what it brought.
    await this.#channel.call('drained', undefined, 2000).catch(() => {});
    await this.traffic.drain();
    clearTimeout(deadline);
    // Framework cleanup (Fastify's onClose hooks) runs once no socket is left, within what remains of shutdownTimeout.
    await runDrainedHooks(Math.max(0, this.#options.shutdownTimeout - (Date.now() - drainStartedAt)));
    this.#finish();
    this.#host.exit(0);
  }

  /** node:cluster hands this worker its connections one by one (round-robin), rather than the master (sticky) or the kernel ('os'). */
  #takesRoundRobinHandoffs(): boolean {
    // options.cluster: this runtime is a node:cluster worker (the single process runs without it).
    return this.#options.cluster && !this.#options.sticky && this.#options.scheduling !== 'os';
  }

  /**
   * 'draining': the app's cue to close what cluster2 cannot end for it (WebSockets with 1001, SSE
   * streams), just before the listener closes. A listener that throws must not stall the drain.
   */
  #announceDraining(): void {
    const errors = runDrainingHooks();
    try {
      this.#host.emit('draining');
    } catch (error) {
      errors.push(error as Error);
    }
    for (const error of errors) {
      const message = truncateMessage(`a 'draining' listener threw: ${error?.message ?? String(error)}`);
      debug('worker %d: %s', process.pid, message);
      this.#channel.send('warning', { message });
    }
  }

  /** Stops timers; the process may then exit naturally. */
  #finish(): void {
    this.#moveTo('dead');
    clearInterval(this.#heartbeat);
    this.traffic.close();
    this.#sampler.close();
  }

  #report(message: string): void {
    debug('worker %d: %s', process.pid, message);
    this.#channel.send('warning', { message });
  }

  #beat(): void {
    if (this.phase === 'dead') return;
    let stats: WorkerStats;
    try {
      stats = this.#sampler.sample(this.traffic.counters());
      this.#channel.send('heartbeat', stats);
    } catch (error) {
      // The beat runs in a timer: a throw would kill the worker. Skip this one; the next may succeed.
      if (!this.#beatFailed) this.#report(`heartbeat skipped: ${(error as Error).message}`);
      this.#beatFailed = true;
      return;
    }
    const { maxMemory } = this.#options;
    if (maxMemory !== undefined && stats.rss > maxMemory * 1024 * 1024) this.#askRecycle('maxMemory');
    // Re-ask on every beat while over a limit: a recycle the master could not start is retried.
    if (this.#recycleAsked) this.#channel.send('recycle', { reason: this.#recycleAsked });
  }

  #checkCount(limit: 'connThreshold' | 'maxRequests', count: number): void {
    const threshold = this.#limits[limit];
    if (threshold !== undefined && count >= threshold) this.#askRecycle(limit);
  }

  #askRecycle(reason: RecycleReason): void {
    if (this.#recycleAsked || this.phase !== 'listening') return;
    this.#recycleAsked = reason;
    this.#channel.send('recycle', { reason });
  }

  get uptime(): number {
    return Date.now() - this.#startedAt;
  }
}

/** The port a listening server serves; undefined for one not listening (or on a pipe). */
function portOf(server: net.Server): number | undefined {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
