import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { WorkerStats } from '../status.js';

/** The figures of a heartbeat that the traffic accounting counts (the rest are the process's own). */
export type TrafficCounters = Pick<WorkerStats, 'connections' | 'totalConnections' | 'requests' | 'inFlight' | 'upgraded' | 'idleCloses'>;

/** Sampling interval of the event-loop delay histogram, ms. */
const LOOP_RESOLUTION_MS = 10;

const NO_MEMORY: MemoryFigures = { rss: 0, heapUsed: 0, heapTotal: 0 };

type MemoryFigures = Pick<NodeJS.MemoryUsage, 'rss' | 'heapUsed' | 'heapTotal'>;

/**
 * Samples process figures; each `sample()` covers the time since the previous one. `sample()`
 * never throws: a figure that cannot be read (`process.memoryUsage()` opens /proc/self/stat and
 * fails with EMFILE when the worker is out of descriptors) keeps its last value, and the failure
 * goes to `warn` once per figure. A throw there would kill the worker from inside its timer.
 */
export class StatsSampler {
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  readonly #warn: (message: string) => void;
  readonly #warned = new Set<string>();
  #lastCpu = process.cpuUsage();
  #lastAt = process.hrtime.bigint();
  #lastMemory = NO_MEMORY;

  constructor(warn: (message: string) => void = () => {}) {
    this.#warn = warn;
    this.#loopDelay.enable();
  }

  sample(traffic: TrafficCounters): WorkerStats {
    const now = process.hrtime.bigint();
    const cpu = this.#read('cpu', () => process.cpuUsage(this.#lastCpu), { user: 0, system: 0 });
    const elapsedMicros = Number(now - this.#lastAt) / 1000;
    this.#lastCpu = this.#read('cpu', () => process.cpuUsage(), this.#lastCpu);
    this.#lastAt = now;
    const memory = (this.#lastMemory = this.#read('memory', () => process.memoryUsage(), this.#lastMemory));
    const meanDelayNs = this.#read('eventLoopDelay', () => (this.#loopDelay.count > 0 ? this.#loopDelay.mean : 0), 0);
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

  #read<T>(figure: string, read: () => T, fallback: T): T {
    try {
      return read();
    } catch (error) {
      if (!this.#warned.has(figure)) {
        this.#warned.add(figure);
        this.#warn(`heartbeat: could not read ${figure} (${(error as Error).message}); sending the last value until it reads again`);
      }
      return fallback;
    }
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
