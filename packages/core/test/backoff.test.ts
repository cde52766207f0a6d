// RestartPolicy takes the time of each death as an argument, so the window is tested with exact
// instants rather than real waiting.
import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../src/primary/backoff.js';

const restart = { window: 1000, maxRestarts: 3, minDelay: 100, maxDelay: 250 };

describe('RestartPolicy', () => {
  it('replaces the first death at once, then waits minDelay doubling up to maxDelay, and gives up past maxRestarts', () => {
    const policy = new RestartPolicy(restart);
    expect(policy.recordDeath(0)).toEqual({ giveUp: false, delay: 0 });
    expect(policy.recordDeath(10)).toEqual({ giveUp: false, delay: 100 });
    expect(policy.recordDeath(20)).toEqual({ giveUp: false, delay: 200 });
    expect(policy.recentDeaths).toBe(3);
    expect(policy.recordDeath(30)).toEqual({ giveUp: true });
  });

  it('caps the delay at maxDelay', () => {
    const policy = new RestartPolicy({ ...restart, maxRestarts: 10 });
    const delays = [0, 1, 2, 3, 4, 5].map((t) => policy.recordDeath(t));
    expect(delays).toEqual([0, 100, 200, 250, 250, 250].map((delay) => ({ giveUp: false, delay })));
  });

  it('forgets deaths once they are restart.window old: the delay falls back to 0 and no give-up happens', () => {
    const policy = new RestartPolicy(restart);
    for (const t of [0, 10, 20]) policy.recordDeath(t);
    // Three deaths were in the window; a fourth within it would give up. 1020 ms later the last
    // of them is exactly window old and no longer counts.
    expect(policy.recordDeath(1020)).toEqual({ giveUp: false, delay: 0 });
    expect(policy.recentDeaths).toBe(1);
    expect(policy.recordDeath(1030)).toEqual({ giveUp: false, delay: 100 });
  });

  it('counts a death just under window old and drops only the deaths that are window old or older', () => {
    const many = { ...restart, maxRestarts: 10 };
    const policy = new RestartPolicy(many);
    for (const t of [0, 700, 800]) policy.recordDeath(t);
    // At 1699 the death at 0 is gone (1699 ≥ 1000), those at 700 and 800 still count (999, 899).
    expect(policy.recordDeath(1699)).toEqual({ giveUp: false, delay: 200 });
    expect(policy.recentDeaths).toBe(3);
    const later = new RestartPolicy(many);
    for (const t of [0, 700, 800]) later.recordDeath(t);
    // At 1700 the one at 700 is exactly window old too: only 800 and 1700 count.
    expect(later.recordDeath(1700)).toEqual({ giveUp: false, delay: 100 });
    expect(later.recentDeaths).toBe(2);
  });

  it('a steady trickle of deaths, each a window apart, never gives up', () => {
    const policy = new RestartPolicy(restart);
    for (let i = 0; i < 50; i++) expect(policy.recordDeath(i * 1000)).toEqual({ giveUp: false, delay: 0 });
    expect(policy.recentDeaths).toBe(1);
  });

  it('uses the current time by default', () => {
    const policy = new RestartPolicy({ ...restart, window: 60_000 });
    expect(policy.recordDeath()).toEqual({ giveUp: false, delay: 0 });
    // A death stamped long ago is outside the window the default clock sees, a moment ago is inside.
    expect(policy.recordDeath(Date.now())).toEqual({ giveUp: false, delay: 100 });
    expect(policy.recordDeath(Date.now() + 60_000)).toEqual({ giveUp: false, delay: 0 });
  });
});
