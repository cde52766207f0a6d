import type { Counter, Gauge, Registry } from 'prom-client';
import type { ClusterStatus, WorkerStatus } from '../status.js';
import type { MonitorSource } from './source.js';

const WORKER_LABELS = ['pid', 'worker'] as const;
type WorkerLabel = (typeof WORKER_LABELS)[number];

/** Per-worker gauges: metric name suffix, help, and how to read the value off a WorkerStatus. */
const WORKER_GAUGES: ReadonlyArray<{ name: string; help: string; read: (w: WorkerStatus) => number | undefined }> = [
  { name: 'worker_rss_bytes', help: 'Resident set size of the worker.', read: (w) => w.rss },
  { name: 'worker_heap_used_bytes', help: 'V8 heap in use by the worker.', read: (w) => w.heapUsed },
  {
    name: 'worker_cpu_usage_ratio',
    help: 'CPU used by the worker since its previous heartbeat, as a fraction of one core.',
    read: (w) => (w.cpu === undefined ? undefined : w.cpu / 100),
  },
  {
    name: 'worker_event_loop_delay_seconds',
    help: 'Mean event-loop delay of the worker since its previous heartbeat.',
    read: (w) => (w.eventLoopDelay === undefined ? undefined : w.eventLoopDelay / 1000),
  },
  { name: 'worker_connections', help: 'Sockets the worker has open now.', read: (w) => w.connections },
  { name: 'worker_in_flight_requests', help: 'Requests the worker has not answered yet.', read: (w) => w.inFlight },
  {
    name: 'worker_upgraded_connections',
    help: 'Sockets of the worker that left HTTP through an upgrade (WebSockets), open now; part of worker_connections.',
    read: (w) => w.upgraded,
  },
  {
    name: 'worker_uptime_seconds',
    help: 'Seconds since the worker started.',
    read: (w) => w.uptime ?? Math.max(0, (Date.now() - w.startedAt) / 1000),
  },
];

/**
 * The monitor's Prometheus view of a MonitorSource, in a registry of its own (never prom-client's
 * global one, so two clusters in one process, or the app's own metrics, never collide).
 *
 * Each scrape reads `status()` once and updates every series from that one snapshot. Counters
 * advance by the growth of the source's totals and never go back, even if a figure the source
 * reports dips (e.g. a dead worker's share dropped): Prometheus would read a dip as a reset.
 */
type PromClient = typeof import('prom-client');

/**
 * Loads prom-client only here, in the master, when the monitor starts: workers import the same
 * package and would otherwise pay its load time on every start, respawn and reload.
 */
export async function createMonitorMetrics(source: MonitorSource): Promise<MonitorMetrics> {
  return new MonitorMetrics(source, await import('prom-client'));
}

export class MonitorMetrics {
  /** The registry `/metrics` serialises. */
  readonly registry: Registry;
  readonly #source: MonitorSource;
  readonly #workerGauges: Array<{ gauge: Gauge<WorkerLabel>; read: (w: WorkerStatus) => number | undefined }>;
  readonly #workerRequests: Counter<WorkerLabel>;
  readonly #requests: Counter;
  readonly #connections: Counter;
  readonly #restarts: Counter<'reason'>;
  readonly #idleCloses: Counter;
  readonly #delegationsRefused: Counter<'reason'>;
  readonly #delegationsPending: Gauge;
  readonly #refused: Counter<'reason'>;
  readonly #acceptErrors: Counter<'listener'>;
  readonly #logLines: Counter;
  readonly #logLinesDropped: Counter;
  readonly #ecvEnabled: Gauge;
  readonly #workers: Gauge;
  readonly #workersDesired: Gauge;
  readonly #uptime: Gauge;
  /** What each counter series exposes now, keyed by series. */
  readonly #exposed = new Map<string, number>();

  constructor(source: MonitorSource, { Counter, Gauge, Registry }: PromClient) {
    this.#source = source;
    this.registry = new Registry();
    const registers = [this.registry];
    this.#workerGauges = WORKER_GAUGES.map(({ name, help, read }) => ({
      gauge: new Gauge({ name: `cluster2_${name}`, help, labelNames: WORKER_LABELS, registers }),
      read,
    }));
    this.#workerRequests = new Counter({
      name: 'cluster2_worker_requests_total',
      help: 'Requests the worker has received since it started.',
      labelNames: WORKER_LABELS,
      registers,
    });
    this.#requests = new Counter({ name: 'cluster2_requests_total', help: 'Requests received by all workers, dead ones included.', registers });
    this.#connections = new Counter({ name: 'cluster2_connections_total', help: 'Connections accepted by all workers, dead ones included.', registers });
    this.#restarts = new Counter({
      name: 'cluster2_restarts_total',
      help: "Worker replacements by reason ('crash' for unexpected deaths).",
      labelNames: ['reason'],
      registers,
    });
    this.#idleCloses = new Counter({
      name: 'cluster2_idle_timeouts_total',
      help: 'Idle keep-alive sockets the workers closed at `timeout`, dead workers included.',
      registers,
    });
    this.#delegationsRefused = new Counter({
      name: 'cluster2_delegations_refused_total',
      help: "Delegations the master refused: 'too_large' requests, 'answer_too_large' answers (maxMessageSize), 'too_many_pending' (maxPendingDelegations).",
      labelNames: ['reason'],
      registers,
    });
    this.#delegationsPending = new Gauge({ name: 'cluster2_delegations_pending', help: 'Delegations waiting in the master for an answer.', registers });
    this.#refused = new Counter({
      name: 'cluster2_refused_connections_total',
      help: 'Connections the master closed at once because a bound of the limits option was reached, by bound.',
      labelNames: ['reason'],
      registers,
    });
    this.#acceptErrors = new Counter({
      name: 'cluster2_accept_errors_total',
      help: "Failed accepts (EMFILE, ENFILE) on the master's own listeners ('monitor', 'sticky').",
      labelNames: ['listener'],
      registers,
    });
    this.#logLines = new Counter({
      name: 'cluster2_log_lines_total',
      help: "Lines of the workers' output and of the master's own the master captured.",
      registers,
    });
    this.#logLinesDropped = new Counter({
      name: 'cluster2_log_lines_dropped_total',
      help: 'Captured lines a destination lost because it fell more than logs.buffer bytes behind (or could not be written), counted once per destination.',
      registers,
    });
    this.#ecvEnabled = new Gauge({ name: 'cluster2_ecv_enabled', help: '1 while ECV reports the cluster available, 0 while disabled.', registers });
    this.#workers = new Gauge({ name: 'cluster2_workers', help: 'Workers alive now (starting, listening or draining).', registers });
    this.#workersDesired = new Gauge({ name: 'cluster2_workers_desired', help: 'Workers the master keeps running (noWorkers).', registers });
    this.#uptime = new Gauge({ name: 'cluster2_master_uptime_seconds', help: 'Seconds since the master started.', registers });
  }

  /** Content type of {@link render}'s text: `text/plain; version=0.0.4; charset=utf-8`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads the source once and returns the Prometheus text exposition. */
  async render(): Promise<string> {
    this.update(this.#source.status());
    return this.registry.metrics();
  }

  /** Sets every series from one status snapshot. */
  update(status: ClusterStatus): void {
    this.#updateWorkers(status.workers.filter((w) => w.state !== 'dead'));
    this.#advance(this.#requests, 'requests', status.totals.requests);
    this.#advance(this.#connections, 'connections', status.totals.totalConnections);
    this.#advance(this.#idleCloses, 'idleCloses', status.totals.idleCloses ?? 0);
    const delegation = status.delegation;
    if (delegation !== undefined) {
      this.#delegationsPending.set(delegation.pending);
      this.#advance(this.#delegationsRefused.labels({ reason: 'too_large' }), 'refused:too_large', delegation.tooLarge);
      this.#advance(this.#delegationsRefused.labels({ reason: 'answer_too_large' }), 'refused:answer_too_large', delegation.answersTooLarge);
      this.#advance(this.#delegationsRefused.labels({ reason: 'too_many_pending' }), 'refused:too_many_pending', delegation.tooManyPending);
    }
    for (const [reason, count] of Object.entries(status.restarts)) {
      this.#advance(this.#restarts.labels({ reason }), `restarts:${reason}`, count);
    }
    for (const [reason, count] of Object.entries(status.pressure?.refused ?? {})) {
      this.#advance(this.#refused.labels({ reason }), `refused:${reason}`, count ?? 0);
    }
    for (const [listener, count] of Object.entries(status.pressure?.acceptErrors ?? {})) {
      this.#advance(this.#acceptErrors.labels({ listener }), `acceptErrors:${listener}`, count);
    }
    if (status.logs) {
      this.#advance(this.#logLines, 'logLines', status.logs.lines);
      this.#advance(this.#logLinesDropped, 'logLinesDropped', status.logs.dropped);
    }
    this.#ecvEnabled.set(status.ecv.state === 'enabled' ? 1 : 0);
    this.#workers.set(status.totals.workers);
    this.#workersDesired.set(status.master.noWorkers);
    this.#uptime.set(status.master.uptime);
  }

  #updateWorkers(live: WorkerStatus[]): void {
    // Reset first: a worker that died since the last scrape must lose its series, not keep its last value.
    for (const { gauge } of this.#workerGauges) gauge.reset();
    this.#workerRequests.reset();
    for (const worker of live) {
      const labels = { pid: String(worker.pid), worker: String(worker.id) };
      for (const { gauge, read } of this.#workerGauges) {
        const value = read(worker);
        if (value !== undefined && Number.isFinite(value)) gauge.labels(labels).set(value);
      }
      // Per pid the count only grows, so re-creating the series each scrape keeps it monotonic.
      if (worker.requests !== undefined) this.#workerRequests.labels(labels).inc(worker.requests);
    }
  }

  /** Moves a counter up to `value`; a lower `value` leaves it where it is. */
  #advance(counter: { inc(value: number): void }, key: string, value: number): void {
    const current = this.#exposed.get(key) ?? 0;
    if (!Number.isFinite(value) || value <= current) {
      if (!this.#exposed.has(key)) counter.inc(0); // expose the series (at 0) from the first scrape
      this.#exposed.set(key, current);
      return;
    }
    counter.inc(value - current);
    this.#exposed.set(key, value);
  }
}
