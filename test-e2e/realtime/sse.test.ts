// Event streams end in `draining`, so a reload does not wait for them and browsers' EventSource
// reconnects to a successor. Regression test: an open text/event-stream
// response kept its old worker alive until shutdownTimeout, then the transfer was cut.
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, rawEventStream, until } from './harness.js';

const fixtures: Fixture[] = [];
afterEach(() => killAll(fixtures.splice(0)));

const CLIENTS = 100;
const RAW_CLIENTS = 5;

/** One EventSource and what it saw: the worker of each connection, clean ends and cut ones. */
function watch(url: string) {
  const source = new EventSource(url);
  const created = Date.now();
  const seen = { source, pids: [] as number[], byes: 0, cleanEnds: 0, failedReconnects: 0, failures: [] as string[] };
  source.addEventListener('hello', (event) => seen.pids.push(Number(event.data)));
  source.addEventListener('bye', () => seen.byes++);
  // eventsource 4 reports a stream that ended cleanly as an error event without a message (and
  // reconnects); a cut transfer carries the body's error ("TypeError: terminated: …"). A reconnect
  // whose request got no answer at all ("TypeError: fetch failed: other side closed") is counted
  // apart and reported: EventSource retries it. It was seen in about 1 run of 10 with a CPU burner
  // on one of the 2 cores (6–25 requests at the same instant), never on an idle machine; since the
  // drain's idle grace waits for the loop's next poll (worker/traffic.ts), 0 in 32 runs with the
  // burner. Still counted rather than failed on until the cause is pinned down.
  source.addEventListener('error', (event) => {
    const message = (event as Event & { message?: string }).message;
    if (message === undefined) seen.cleanEnds++;
    else if (/^TypeError: fetch failed: other side closed/.test(message)) seen.failedReconnects++;
    else seen.failures.push(`${message} (at +${Date.now() - created} ms, after connections to ${seen.pids.join(' ')})`);
  });
  return seen;
}

describe('server-sent events across a reload', () => {
  it('a reload with 100 open EventSource clients finishes in under 2 s; each reconnects to a new worker, no transfer is cut', async () => {
    const fixture = new Fixture({ noWorkers: 2, shutdownTimeout: 10_000 });
    fixtures.push(fixture);
    const port = await fixture.port();
    const clients = Array.from({ length: CLIENTS }, () => watch(`http://127.0.0.1:${port}/events`));
    try {
      const old = fixture.workerPids();
      await until(() => clients.every((c) => c.pids.length === 1), 20_000, `${CLIENTS} streams open`);
      const raw = await Promise.all(Array.from({ length: RAW_CLIENTS }, () => rawEventStream(port)));
      for (const stream of raw) expect(old).toContain(stream.pid);

      const from = fixture.messages.length;
      const startedAt = Date.now();
      const result = await fixture.call('reload');
      const reloadMs = Date.now() - startedAt;
      expect(result.event, result.message).toBe('called');
      await fixture.waitFor('died', { from, count: 2 });
      const exitMs = Date.now() - startedAt;
      const successors = fixture.pids('listening', from);
      expect(successors).toHaveLength(2);

      await until(() => clients.every((c) => c.pids.length >= 2 && successors.includes(c.pids.at(-1)!)), 15_000, 'every EventSource on a successor');
      await Promise.all(raw.map((s) => s.done));
      // The app ends each stream's connection with it, so EventSource reconnects on a fresh
      // connection, which the master hands to a worker still serving (the other old one, when
      // the first drains, then a successor), never back to the worker that ended the stream.
      const sameWorker = clients.filter((c) => c.pids.some((pid, i) => i > 0 && pid === c.pids[i - 1])).length;
      const connections = clients.reduce((n, c) => n + c.pids.length, 0);
      const failedReconnects = clients.reduce((n, c) => n + c.failedReconnects, 0);
      console.log(
        `[realtime] reload with ${CLIENTS} EventSource + ${RAW_CLIENTS} raw streams: reload() ${reloadMs} ms, old workers exited after ${exitMs} ms; ${connections} EventSource connections in all, ${sameWorker} clients back to the worker that ended their stream, ${failedReconnects} reconnect requests failed before an answer (then retried)`,
      );
      expect(sameWorker).toBe(0);
      expect(reloadMs).toBeLessThan(2000);
      expect(exitMs).toBeLessThan(2000);
      for (const client of clients) {
        expect(old).toContain(client.pids[0]);
        expect(client.byes).toBeGreaterThanOrEqual(1);
        expect(client.failures).toEqual([]);
        expect(client.cleanEnds).toBe(client.pids.length - 1);
      }
      // Read at the HTTP level: each stream ended with its chunked terminator, none was aborted.
      for (const stream of raw) {
        expect(stream).toMatchObject({ ended: true, complete: true, aborted: false, error: undefined });
        expect(stream.events[0]).toBe('hello');
        expect(stream.events.at(-1)).toBe('bye');
      }
      expect(fixture.warnings().filter((w) => /shutdownTimeout/.test(w))).toEqual([]);
      expect(fixture.events('died').every((m) => m.args![1] === 0)).toBe(true);
    } finally {
      for (const client of clients) client.source.close();
    }
  });
});
