// /metrics from a live 2-worker cluster: valid Prometheus text (checked by promtool itself), and
// counters that survive a worker's death while the dead worker's own series disappear.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, getStatus, request, tempDir, traffic, until } from './helpers.js';

const fixtures: Fixture[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fixture of fixtures.splice(0)) fixture.kill();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** One sample line of the exposition: name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function single(samples: Sample[], name: string): number {
  const found = samples.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!.value;
}

const workerPidsIn = (samples: Sample[], name: string): number[] =>
  samples
    .filter((s) => s.name === name)
    .map((s) => Number(s.labels.pid))
    .sort((a, b) => a - b);

async function scrape(monPort: number): Promise<{ text: string; samples: Sample[] }> {
  const answer = await request(monPort, '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: answer.body, samples: parseExposition(answer.body) };
}

/** Pipes `text` to `promtool check metrics`; resolves with its exit code and everything it printed. */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(text);
  });
}

describe('monitor /metrics on a live cluster', () => {
  it('passes promtool, keeps cluster counters monotonic across a worker death and drops the dead pid', async () => {
    const pids = tempDir('metrics-pids');
    const logs = tempDir('metrics-logs');
    dirs.push(pids, logs);
    const fixture = new Fixture({ noWorkers: 2, heartbeatInterval: 100, pids, logs });
    fixtures.push(fixture);
    const { port, monPort } = await fixture.ready();

    await traffic(port, 200);
    // Figures reach the master with the heartbeats: wait until it has counted every request.
    await until(async () => (await getStatus(monPort)).totals.requests >= 200, 10_000, 'the master to count 200 requests');

    const before = await scrape(monPort);
    const lint = await promtoolCheck(before.text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);

    const [victim, survivor] = fixture.workerPids();
    expect(workerPidsIn(before.samples, 'cluster2_worker_rss_bytes')).toEqual([victim!, survivor!].sort((a, b) => a - b));
    expect(workerPidsIn(before.samples, 'cluster2_worker_requests_total')).toHaveLength(2);
    const requestsBefore = single(before.samples, 'cluster2_requests_total');
    const connectionsBefore = single(before.samples, 'cluster2_connections_total');
    expect(requestsBefore).toBeGreaterThanOrEqual(200);
    expect(connectionsBefore).toBeGreaterThanOrEqual(200);
    expect(single(before.samples, 'cluster2_workers')).toBe(2);

    process.kill(victim!, 'SIGKILL');
    await fixture.waitFor('died', { where: (m) => m.args![0] === victim });
    await until(() => fixture.workerPids().length === 2, 15_000, 'a replacement worker');
    const replacement = fixture.workerPids().find((pid) => pid !== survivor)!;
    await until(
      async () => (await getStatus(monPort)).workers.some((w) => w.pid === replacement && w.lastHeartbeat !== undefined),
      10_000,
      `the first heartbeat of worker ${replacement}`,
    );

    const after = await scrape(monPort);
    const lintAfter = await promtoolCheck(after.text);
    expect(lintAfter.output).toBe('');
    expect(lintAfter.code).toBe(0);
    expect(single(after.samples, 'cluster2_requests_total')).toBeGreaterThanOrEqual(requestsBefore);
    expect(single(after.samples, 'cluster2_connections_total')).toBeGreaterThanOrEqual(connectionsBefore);
    const deadSeries = after.samples.filter((s) => s.labels.pid === String(victim));
    expect(deadSeries, 'series still labelled with the dead pid').toEqual([]);
    expect(workerPidsIn(after.samples, 'cluster2_worker_rss_bytes')).toEqual([survivor!, replacement].sort((a, b) => a - b));
    expect(single(after.samples, 'cluster2_workers')).toBe(2);
    const crashes = after.samples.find((s) => s.name === 'cluster2_restarts_total' && s.labels.reason === 'crash');
    expect(crashes?.value).toBe(1);

    // The counter keeps counting on top of the dead worker's share.
    await traffic(port, 50);
    await until(async () => (await getStatus(monPort)).totals.requests >= requestsBefore + 50, 10_000, '50 more requests counted');
    const later = await scrape(monPort);
    expect(single(later.samples, 'cluster2_requests_total')).toBeGreaterThanOrEqual(requestsBefore + 50);
  });

  // Regression: the worker reported the histogram's mean as is, and each of its samples spans the
  // whole 10 ms sampling interval, so an idle worker read ~10 ms of "delay" and could never go lower.
  it('reports an idle worker event-loop delay without the 10 ms sampling interval', async () => {
    const pids = tempDir('metrics-pids');
    const logs = tempDir('metrics-logs');
    dirs.push(pids, logs);
    const fixture = new Fixture({ noWorkers: 2, heartbeatInterval: 200, pids, logs });
    fixtures.push(fixture);
    const { monPort } = await fixture.ready();
    let delays: number[] = [];
    await until(
      async () => {
        delays = (await scrape(monPort)).samples.filter((s) => s.name === 'cluster2_worker_event_loop_delay_seconds').map((s) => s.value);
        return delays.length === 2 && delays.every((d) => d < 0.005);
      },
      15_000,
      'both idle workers to report under 5 ms of event-loop delay',
      () => `last: ${JSON.stringify(delays)}`,
    );
    expect(delays.every((d) => d >= 0)).toBe(true);
  });
});
