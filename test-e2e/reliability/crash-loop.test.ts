import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, recordSummary } from './harness.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

describe('crash loop', () => {
  it('a worker that dies at start: respawns back off, doubling, then the master gives up and exits 1 after maxRestarts + 1 forks', async () => {
    const restart = { minDelay: 100, maxDelay: 10_000, maxRestarts: 5, window: 60_000 };
    const f = new Fixture({ noWorkers: 1, restart }, { FIXTURE_MODE: 'crash-at-start' });
    running.push(f);
    await f.waitForExit(30_000);

    expect(f.exitCode).toBe(1);
    const forked = f.events('forked');
    const died = f.events('died');
    expect(forked).toHaveLength(restart.maxRestarts + 1);
    expect(died).toHaveLength(restart.maxRestarts + 1);
    for (const m of died) expect(m.args!.slice(1)).toEqual([1, null]);
    expect(f.events('listening')).toEqual([]);
    expect(f.events('giveup')).toHaveLength(1);
    // Said on the master's stderr as one of its log lines, with the reason.
    expect(f.stderr).toMatch(/^\[master \d+\] gave up: \d+ workers died within \d+ ms/m);
    // Gave up on the death that made it more than maxRestarts, right away.
    expect(f.events('giveup')[0]!.time - died.at(-1)!.time).toBeLessThan(100);

    // Respawn delays, from each death to the next fork: at once, then minDelay, doubling.
    const delays = died.slice(0, -1).map((m, i) => forked[i + 1]!.time - m.time);
    expect(delays[0]).toBeLessThan(80);
    for (let k = 1; k < delays.length; k++) {
      const wanted = restart.minDelay * 2 ** (k - 1);
      expect(delays[k]).toBeGreaterThanOrEqual(wanted - 5);
      expect(delays[k]).toBeLessThan(wanted + 150);
    }
    recordSummary({
      scenario: '5. crash loop (noWorkers 1, maxRestarts 5)',
      sent: 0,
      succeeded: 0,
      failed: 0,
      notes: `${forked.length} forks; respawn delays ${delays.join(', ')} ms; exit ${f.exitCode}`,
    });
  });
});
