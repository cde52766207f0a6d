import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary, until } from './harness.js';
import { LoadDriver, describeFailures, tally } from './load.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 4;
const ROUNDS = 5;

describe('rolling reload under load', () => {
  it(`${ROUNDS} reloads of ${NO_WORKERS} workers in a row under mixed load: 0 failed requests, 0 resets, every pid replaced each time`, async () => {
    const f = new Fixture({ noWorkers: NO_WORKERS });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const load = new LoadDriver({ port: port!, maxDuration: 90_000 }).start();
    await load.settled(500);

    const durations: number[] = [];
    const generations: number[][] = [f.workerPids()];
    for (let round = 0; round < ROUNDS; round++) {
      const before = f.workerPids();
      expect(before).toHaveLength(NO_WORKERS);
      const from = f.messages.length;
      const calledAt = Date.now();
      const settled = await f.call('reload');
      expect(settled.event).toBe('called');
      durations.push(settled.time - calledAt);
      expect(f.pids('recycled', from).sort()).toEqual([...before].sort());
      for (const m of f.events('recycled', from)) expect(m.args![1]).toBe('reload');
      await until(
        () => before.every((pid) => f.pids('died', from).includes(pid)),
        15_000,
        'the old workers to exit',
        () => f.stderr,
      );
      for (const m of f.events('died', from)) expect(m.args!.slice(1)).toEqual([0, null]);
      const after = f.workerPids();
      expect(after).toHaveLength(NO_WORKERS);
      for (const pid of after) expect(before).not.toContain(pid);
      generations.push(after);
      // Let the new generation take traffic before the next round.
      const mark = load.outcomes.length;
      await load.settled(mark + 300);
    }
    await load.quiesce();
    // No socket of any client saw a reset either (an idle keep-alive socket cut with RST, say).
    const broken = load.brokenSockets();
    const outcomes = await load.stop();

    const counts = tally(outcomes);
    expect(describeFailures(outcomes)).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.resets).toBe(0);
    expect(broken).toEqual([]);
    // Every generation served.
    const servedBy = new Set(outcomes.map((o) => o.pid));
    for (const generation of generations) for (const pid of generation) expect(servedBy).toContain(pid);
    expect(f.exitCode).toBeUndefined();
    recordSummary({
      scenario: `1. ${ROUNDS} reloads x ${NO_WORKERS} workers under load`,
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      notes: `reload ms: ${durations.join(', ')}; resets ${counts.resets}; sockets ${load.sockets.length}`,
    });
  });
});
