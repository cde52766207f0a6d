import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, killAll, request, tempDir, until } from './helpers.js';

const running: Fixture[] = [];
afterEach(() => killAll(running.splice(0)));

const NO_WORKERS = 4;

function start(options: object = {}, env: Record<string, string> = {}): Fixture {
  const fixture = new Fixture('reload-app.mjs', { port: 0, host: '127.0.0.1', monitor: false, pids: false, noWorkers: NO_WORKERS, ...options }, env);
  running.push(fixture);
  return fixture;
}

/**
 * Walks the event stream from `from` on and returns the lowest capacity seen: `up` counts
 * listening − died (the brief's measure), `serving` also drops a worker as soon as it is
 * recycled (it no longer accepts), so it is the stricter one.
 */
function lowestCapacity(f: Fixture, initial: number[], from: number): { up: number; serving: number } {
  const up = new Set(initial);
  const serving = new Set(initial);
  let lowUp = up.size;
  let lowServing = serving.size;
  for (const m of f.messages.slice(from)) {
    const pid = m.args?.[0] as number;
    if (m.event === 'listening') {
      up.add(pid);
      serving.add(pid);
    } else if (m.event === 'recycled') {
      serving.delete(pid);
    } else if (m.event === 'died') {
      up.delete(pid);
      serving.delete(pid);
    } else continue;
    lowUp = Math.min(lowUp, up.size);
    lowServing = Math.min(lowServing, serving.size);
  }
  return { up: lowUp, serving: lowServing };
}

interface Outcome {
  status: number | string;
  pid: number | undefined;
  body: string;
  start: number;
  end: number;
}

/** Requests in a loop until stopped: keep-alive lanes share one agent, fresh lanes open a connection per request. */
function startLoad(port: number, { keepAlive = 4, fresh = 2, path: target = '/' } = {}) {
  let running = true;
  const outcomes: Outcome[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: keepAlive });
  const lane = async (laneAgent: http.Agent | false) => {
    while (running) {
      const start = Date.now();
      try {
        const answer = await request(port, target, { agent: laneAgent });
        outcomes.push({ status: answer.status, pid: Number(answer.headers['x-worker-pid']), body: answer.body, start, end: Date.now() });
      } catch (error) {
        outcomes.push({ status: (error as NodeJS.ErrnoException).code ?? (error as Error).message, pid: undefined, body: '', start, end: Date.now() });
      }
    }
  };
  const lanes = [...Array<http.Agent>(keepAlive).fill(agent), ...Array<false>(fresh).fill(false)].map(lane);
  return {
    outcomes,
    async stop(): Promise<Outcome[]> {
      running = false;
      await Promise.all(lanes);
      agent.destroy();
      return outcomes;
    },
  };
}

function failures(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.status !== 200);
}

describe('rolling reload', () => {
  it('reload() replaces every one of 4 workers, one at a time, never below 4 serving, and resolves after the last', async () => {
    const f = start();
    const port = await f.ready();
    const before = f.workerPids();
    expect(before).toHaveLength(NO_WORKERS);
    const from = f.messages.length;

    const calledAt = Date.now();
    const settled = await f.call('reload');
    expect(settled.event).toBe('called');

    const recycled = f.messages.slice(from).filter((m) => m.event === 'recycled');
    expect(recycled.map((m) => m.args)).toEqual(expect.arrayContaining(before.map((pid) => [pid, 'reload'])));
    expect(recycled).toHaveLength(NO_WORKERS);
    // Resolved after the last replacement, not before.
    expect(settled.time).toBeGreaterThanOrEqual(recycled.at(-1)!.time);
    // One at a time: each successor was forked only after the previous old worker was recycled.
    const sequence = f.messages
      .slice(from)
      .filter((m) => m.event === 'forked' || m.event === 'recycled')
      .map((m) => m.event);
    expect(sequence).toEqual(Array.from({ length: NO_WORKERS }, () => ['forked', 'recycled']).flat());

    await until(() => before.every((pid) => f.pids('died', from).includes(pid)), 10_000, 'old workers to exit');
    const after = f.workerPids();
    expect(after).toHaveLength(NO_WORKERS);
    for (const pid of after) expect(before).not.toContain(pid);
    for (const m of f.messages.slice(from).filter((e) => e.event === 'died')) expect(m.args!.slice(1)).toEqual([0, null]);
    expect(lowestCapacity(f, before, from)).toEqual({ up: NO_WORKERS, serving: NO_WORKERS });
    console.log(`reload of ${NO_WORKERS} idle workers took ${settled.time - calledAt} ms`);

    const answers = await Promise.all(Array.from({ length: 20 }, () => request(port, '/')));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(after).toContain(Number(answer.headers['x-worker-pid']));
    }
  });

  it.each(['SIGUSR2', 'SIGHUP'] as const)('%s to the master triggers a full rolling reload', async (signal) => {
    const f = start();
    await f.ready();
    const before = f.workerPids();
    const from = f.messages.length;
    process.kill(f.pid, signal);
    await f.waitFor(signal);
    await until(
      () => f.pids('recycled', from).length === NO_WORKERS,
      30_000,
      `${NO_WORKERS} recycles`,
      () => f.stderr,
    );
    await until(() => before.every((pid) => f.pids('died', from).includes(pid)), 10_000, 'old workers to exit');
    expect(f.pids('recycled', from).sort()).toEqual([...before].sort());
    for (const m of f.events('recycled')) expect(m.args![1]).toBe('reload');
    const after = f.workerPids();
    expect(after).toHaveLength(NO_WORKERS);
    for (const pid of after) expect(before).not.toContain(pid);
    expect(lowestCapacity(f, before, from).serving).toBe(NO_WORKERS);
    expect(f.exitCode).toBeUndefined();
  });

  it('a deploy (rewrite the files the app reads at start, then reload) is served by every worker afterwards', async () => {
    const dir = tempDir('reload');
    const textFile = path.join(dir, 'greeting.txt');
    fs.writeFileSync(textFile, 'version 1');
    const f = start({}, { FIXTURE_TEXT_FILE: textFile });
    const port = await f.ready();
    // Read at worker start, not per request: rewriting alone changes nothing.
    fs.writeFileSync(textFile, 'version 2');
    const stale = await Promise.all(Array.from({ length: 20 }, () => request(port, '/')));
    expect(stale.map((a) => a.body)).toEqual(Array(20).fill('version 1'));

    expect((await f.call('reload')).event).toBe('called');
    const fresh = await Promise.all(Array.from({ length: 20 }, () => request(port, '/')));
    expect(fresh.map((a) => `${a.status} ${a.body}`)).toEqual(Array(20).fill('200 version 2'));
    expect(new Set(fresh.map((a) => a.headers['x-worker-pid'])).size).toBe(NO_WORKERS);

    fs.writeFileSync(textFile, 'version 3');
    expect((await f.call('reload')).event).toBe('called');
    const third = await Promise.all(Array.from({ length: 20 }, () => request(port, '/')));
    expect(third.map((a) => `${a.status} ${a.body}`)).toEqual(Array(20).fill('200 version 3'));
  });

  it('reloads requested during a reload are queued, not interleaved: three calls make exactly two rounds', async () => {
    const f = start();
    await f.ready();
    const before = f.workerPids();
    const from = f.messages.length;
    const settled = await Promise.all([f.call('reload'), f.call('reload'), f.call('reload')]);
    expect(settled.map((m) => m.event)).toEqual(['called', 'called', 'called']);

    const recycled = f.messages.slice(from).filter((m) => m.event === 'recycled');
    expect(recycled).toHaveLength(2 * NO_WORKERS);
    // Round one replaces the original workers, round two their successors.
    expect(
      recycled
        .slice(0, NO_WORKERS)
        .map((m) => m.args![0])
        .sort(),
    ).toEqual([...before].sort());
    const firstRound = f.pids('listening', from).slice(0, NO_WORKERS);
    expect(
      recycled
        .slice(NO_WORKERS)
        .map((m) => m.args![0])
        .sort(),
    ).toEqual([...firstRound].sort());
    // The first call resolves after round one; the queued two together, after round two.
    expect(settled[0].time).toBeGreaterThanOrEqual(recycled[NO_WORKERS - 1]!.time);
    expect(settled[0].time).toBeLessThanOrEqual(recycled[NO_WORKERS]!.time);
    expect(settled[1].time).toBeGreaterThanOrEqual(recycled.at(-1)!.time);
    expect(settled[2].time).toBeGreaterThanOrEqual(recycled.at(-1)!.time);
    expect(lowestCapacity(f, before, from).serving).toBe(NO_WORKERS);
    await until(() => f.workerPids().length === NO_WORKERS && f.pids('died', from).length === 2 * NO_WORKERS, 10_000, 'old workers to exit');
    expect(f.pids('forked', from)).toHaveLength(2 * NO_WORKERS);
  });

  it('a successor that cannot start fails the reload with ERR_CLUSTER2_RELOAD_FAILED; the old workers keep serving and no extra worker appears', async () => {
    const dir = tempDir('reload');
    const marker = path.join(dir, 'broken');
    const f = start({ restart: { minDelay: 100, maxDelay: 400, maxRestarts: 10, window: 60_000 } }, { FIXTURE_FAIL_MARKER: marker });
    const port = await f.ready();
    const before = f.workerPids();
    const from = f.messages.length;

    fs.writeFileSync(marker, '');
    const failed = await f.call('reload');
    expect(failed.event).toBe('call-failed');
    expect(failed.code).toBe('ERR_CLUSTER2_RELOAD_FAILED');
    expect(f.stderr).toContain('broken deploy: the factory throws');
    // Exactly one successor was tried; it died; nobody was retired.
    expect(f.pids('forked', from)).toHaveLength(1);
    expect(f.pids('recycled', from)).toEqual([]);
    expect(f.workerPids().sort()).toEqual([...before].sort());
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(port, '/')));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(before).toContain(Number(answer.headers['x-worker-pid']));
    }

    // The deploy is fixed: the failed successor was not respawned behind the reload's back, so
    // the next reload ends with exactly noWorkers workers, all new.
    fs.rmSync(marker);
    const fixed = await f.call('reload');
    expect(fixed.event).toBe('called');
    await until(() => before.every((pid) => f.pids('died', from).includes(pid)), 10_000, 'old workers to exit');
    const after = f.workerPids();
    expect(after).toHaveLength(NO_WORKERS);
    for (const pid of after) expect(before).not.toContain(pid);
    expect(f.pids('forked', from)).toHaveLength(1 + NO_WORKERS);
    expect(f.events('giveup')).toEqual([]);
  });

  it('with readySignal, a successor takes over only after it calls c.ready(), and no request fails during the reload under load', async () => {
    const dir = tempDir('reload');
    const readyLog = path.join(dir, 'ready.log');
    const f = start({ readySignal: true }, { FIXTURE_READY_DELAY: '300', FIXTURE_READY_LOG: readyLog });
    const port = await f.ready();
    const before = f.workerPids();
    const from = f.messages.length;

    const load = startLoad(port, { keepAlive: 4, fresh: 2 });
    await until(() => load.outcomes.length >= 50, 10_000, 'load to start');
    const calledAt = Date.now();
    const settled = await f.call('reload');
    const reloadMs = settled.time - calledAt;
    await until(() => before.every((pid) => f.pids('died', from).includes(pid)), 10_000, 'old workers to exit');
    const outcomes = await load.stop();

    expect(settled.event).toBe('called');
    expect(failures(outcomes)).toEqual([]);
    const readyAt = new Map(
      fs
        .readFileSync(readyLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(' ').map(Number) as [number, number]),
    );
    const successors = f.pids('listening', from);
    expect(successors).toHaveLength(NO_WORKERS);
    const listening = f.messages.slice(from).filter((m) => m.event === 'listening');
    const recycled = f.messages.slice(from).filter((m) => m.event === 'recycled');
    for (let i = 0; i < NO_WORKERS; i++) {
      const pid = listening[i]!.args![0] as number;
      const ready = readyAt.get(pid)!;
      expect(ready).toBeDefined();
      expect(listening[i]!.time).toBeGreaterThanOrEqual(ready);
      // The predecessor is retired only once its successor is ready.
      expect(recycled[i]!.time).toBeGreaterThanOrEqual(ready);
      expect(ready - f.messages.slice(from).filter((m) => m.event === 'forked')[i]!.time).toBeGreaterThanOrEqual(300);
    }
    // No successor answered anything before it was ready: it was not even listening.
    const servedEarly = outcomes.filter((o) => o.pid !== undefined && readyAt.has(o.pid) && o.end < readyAt.get(o.pid)!);
    expect(servedEarly).toEqual([]);
    expect(reloadMs).toBeGreaterThanOrEqual(NO_WORKERS * 300);
    expect(lowestCapacity(f, before, from).serving).toBe(NO_WORKERS);
    // Every worker that served (old and new) answered; the new ones took over.
    const servedBy = new Set(outcomes.map((o) => o.pid));
    for (const pid of successors) expect(servedBy).toContain(pid);
    console.log(`readySignal reload under load: ${outcomes.length} requests, 0 failed, reload took ${reloadMs} ms`);
  });
});
