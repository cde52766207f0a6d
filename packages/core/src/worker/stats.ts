import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** One worker's figures, sent to the master every `heartbeatInterval`. */
export interface WorkerStats {
  pid: number;
  /** Seconds since the worker started. */
  uptime: number;
  /** Resident set size, bytes. */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** CPU used since the previous report, percent of one core. */
  cpu: number;
  /** Mean event-loop delay since the previous report, ms. */
  eventLoopDelay: number;
  /** Sockets open now. */
  connections: number;
  /** Sockets accepted since start. */
  totalConnections: number;
  /** Requests received since start (HTTP servers only). */
  requests: number;
  /** Requests not yet answered. */
  inFlight: number;
  /** Sockets open now that left HTTP through an upgrade (WebSockets); included in `connections`. */
  upgraded: number;
  /** Idle sockets closed at `timeout` since start. */
  idleCloses: number;
}

export interface TrafficCounters {
  connections: number;
  totalConnections: number;
  requests: number;
  inFlight: number;
  upgraded: number;
  idleCloses: number;
}

/** Sampling interval of the event-loop delay histogram, ms. */
const LOOP_RESOLUTION_MS = 10;

/** Samples process figures; each `sample()` covers the time since the previous one. */
export class StatsSampler {
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  #lastCpu = process.cpuUsage();
  #lastAt = process.hrtime.bigint();

  constructor() {
    this.#loopDelay.enable();
  }

  sample(traffic: TrafficCounters): WorkerStats {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.#lastCpu);
    const elapsedMicros = Number(now - this.#lastAt) / 1000;
    this.#lastCpu = process.cpuUsage();
    this.#lastAt = now;
    const memory = process.memoryUsage();
    const meanDelayNs = this.#loopDelay.count > 0 ? this.#loopDelay.mean : 0;
    this.#loopDelay.reset();
    return {
      pid: process.pid,
      uptime: round(process.uptime(), 3),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      cpu: elapsedMicros > 0 ? round(((cpu.user + cpu.system) / elapsedMicros) * 100, 1) : 0,
      // Each sample is the whole timer interval, so an idle loop reads ~resolution: report only the lag past it.
      eventLoopDelay: round(Math.max(0, meanDelayNs / 1e6 - LOOP_RESOLUTION_MS), 2),
      ...traffic,
    };
  }

  close(): void {
    this.#loopDelay.disable();
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
