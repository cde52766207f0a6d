import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary, until } from './harness.js';
import { LoadDriver, describeFailures, tally } from './load.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 4;

describe('recycling under load', () => {
  it.each([
    // Thresholds low enough that every worker is recycled a few times in a few seconds of load.
    { reason: 'maxRequests', options: { maxRequests: 1000 }, wanted: 8 },
    { reason: 'connThreshold', options: { connThreshold: 150 }, wanted: 8 },
  ])('recycles by $reason under mixed load with 0 failed requests', async ({ reason, options, wanted }) => {
    const f = new Fixture({ noWorkers: NO_WORKERS, ...options });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const first = f.workerPids();
    const load = new LoadDriver({ port: port!, maxDuration: 60_000 }).start();
    await f.waitFor('recycled', { count: wanted, timeout: 60_000 });
    // Let the last replacements finish and serve.
    await until(() => f.workerPids().length === NO_WORKERS, 15_000, 'noWorkers workers');
    await load.settled(load.outcomes.length + 300);
    await load.quiesce();
    const broken = load.brokenSockets();
    const outcomes = await load.stop();

    const counts = tally(outcomes);
    const recycled = f.events('recycled');
    expect(describeFailures(outcomes)).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(broken).toEqual([]);
    expect(recycled.length).toBeGreaterThanOrEqual(wanted);
    for (const m of recycled) expect(m.args![1]).toBe(reason);
    // Every recycled worker exited cleanly (planned), none crashed, and the originals are gone. A
    // worker that reached its threshold in the last requests may still be handing over: read the
    // recycles afresh until each one's old worker is gone and noWorkers remain.
    const settled = () => f.events('recycled').every((m) => f.pids('died').includes(m.args![0] as number)) && f.workerPids().length === NO_WORKERS;
    await until(settled, 15_000, 'recycled workers to exit and noWorkers to remain', () => `workers ${f.workerPids().join(', ')}`);
    for (const m of f.events('died')) expect(m.args!.slice(1)).toEqual([0, null]);
    for (const pid of first) expect(f.pids('recycled')).toContain(pid);
    expect(f.workerPids()).toHaveLength(NO_WORKERS);
    recordSummary({
      scenario: `2. recycle by ${reason} under load`,
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      notes: `${recycled.length} recycles; ${load.sockets.length} sockets`,
    });
  });
});
