import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, canBind, isAlive, killAll, recordSummary, until } from './harness.js';
import { LoadDriver, tally } from './load.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

describe('master SIGKILLed under load', () => {
  it.each(['round-robin', 'os'] as const)('scheduling %s: every worker is gone within 5 s and no orphan keeps the port', async (scheduling) => {
    const f = new Fixture({ noWorkers: 4, scheduling });
    running.push(f);
    const [port] = (await f.ready()).ports;
    const workers = f.workerPids();
    expect(workers).toHaveLength(4);
    const load = new LoadDriver({ port: port!, maxDuration: 30_000, requestTimeout: 5000 }).start();
    await load.settled(1000);
    await until(() => load.pending().some((o) => o.lane === 'slow' && o.headersAt !== undefined), 5000, 'a slow request held by a worker');

    const killedAt = Date.now();
    const inFlight = load.pending();
    process.kill(f.pid, 'SIGKILL');
    // Only requests sent before the kill count; what the clients would send afterwards is refused.
    const quiesced = load.quiesce();
    await until(() => workers.every((pid) => !isAlive(pid)), 5000, 'every worker to exit after its master died');
    const goneMs = Date.now() - killedAt;
    await quiesced;
    const outcomes = await load.stop();
    expect(await canBind(port!)).toBe(true);

    // The orphans drained: what a worker held when the master died (its answer had begun) was
    // answered in full. (A connection still queued in the dead master is lost with it.)
    const pendingAtKill = new Set(inFlight.map((o) => o.id));
    const held = outcomes.filter((o) => pendingAtKill.has(o.id) && o.headersAt !== undefined && o.headersAt <= killedAt);
    const counts = tally(outcomes);
    recordSummary({
      scenario: `7. master SIGKILL under load (${scheduling})`,
      sent: counts.sent,
      succeeded: counts.succeeded,
      failed: counts.failed,
      notes: `workers gone in ${goneMs} ms; port free; ${pendingAtKill.size} in flight at kill, ${held.length} held by a worker, ${held.filter((o) => !o.ok).length} of those failed; failures ${JSON.stringify(counts.byKind)}`,
    });
    expect(held.length).toBeGreaterThan(0);
    expect(held.filter((o) => !o.ok).map((o) => `${o.lane} ${o.error ?? o.status}`)).toEqual([]);
  });
});
