import { spawnSync } from 'node:child_process';
import { register as globalRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeStatus, makeWorker, startTestMonitor, type TestMonitor } from './monitor-helpers.js';

let t: TestMonitor;
beforeEach(async () => {
  t = await startTestMonitor();
});
afterEach(async () => {
  await t.close();
});

async function scrape(): Promise<{ text: string; contentType: string | null }> {
  const res = await fetch(`${t.base}/metrics`);
  expect(res.status).toBe(200);
  return { text: await res.text(), contentType: res.headers.get('content-type') };
}

/** The value of one exact series line, e.g. `cluster2_requests_total` or `name{labels}`. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('uses the Prometheus text content type', async () => {
    expect((await scrape()).contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('exposes per-worker gauges labelled pid and worker', async () => {
    const { text } = await scrape();
    expect(value(text, 'cluster2_worker_rss_bytes{pid="4101",worker="1"}')).toBe(50 * 1024 * 1024);
    expect(value(text, 'cluster2_worker_heap_used_bytes{pid="4102",worker="2"}')).toBe(20 * 1024 * 1024);
    expect(value(text, 'cluster2_worker_cpu_usage_ratio{pid="4101",worker="1"}')).toBe(0.125);
    expect(value(text, 'cluster2_worker_event_loop_delay_seconds{pid="4101",worker="1"}')).toBe(0.0015);
    expect(value(text, 'cluster2_worker_connections{pid="4101",worker="1"}')).toBe(3);
    expect(value(text, 'cluster2_worker_in_flight_requests{pid="4102",worker="2"}')).toBe(1);
    expect(value(text, 'cluster2_worker_upgraded_connections{pid="4102",worker="2"}')).toBe(2);
    expect(value(text, 'cluster2_worker_requests_total{pid="4102",worker="2"}')).toBe(300);
  });

  it('exposes the connections the master refused by bound and its failed accepts by listener', async () => {
    t.source.current = { ...t.source.current, pressure: { refused: { eventStreams: 3, stickyPending: 40 }, acceptErrors: { sticky: 7 } } };
    const { text } = await scrape();
    expect(text).toContain('# TYPE cluster2_refused_connections_total counter');
    expect(value(text, 'cluster2_refused_connections_total{reason="eventStreams"}')).toBe(3);
    expect(value(text, 'cluster2_refused_connections_total{reason="stickyPending"}')).toBe(40);
    expect(value(text, 'cluster2_accept_errors_total{listener="sticky"}')).toBe(7);
  });

  it('exposes cluster totals, restarts by reason, ECV, worker count and master uptime', async () => {
    const { text } = await scrape();
    expect(text).toContain('# TYPE cluster2_requests_total counter');
    expect(value(text, 'cluster2_requests_total')).toBe(600);
    expect(value(text, 'cluster2_connections_total')).toBe(60);
    expect(value(text, 'cluster2_restarts_total{reason="crash"}')).toBe(1);
    expect(value(text, 'cluster2_restarts_total{reason="maxMemory"}')).toBe(2);
    expect(value(text, 'cluster2_ecv_enabled')).toBe(1);
    expect(value(text, 'cluster2_workers')).toBe(2);
    expect(value(text, 'cluster2_workers_desired')).toBe(2);
    expect(value(text, 'cluster2_master_uptime_seconds')).toBe(120);
    await t.source.disable();
    expect(value((await scrape()).text, 'cluster2_ecv_enabled')).toBe(0);
  });

  it('drops the series of a worker that died', async () => {
    expect((await scrape()).text).toContain('pid="4102"');
    t.source.current = makeStatus([makeWorker(4101, 1), makeWorker(4102, 2, { state: 'dead' })]);
    const { text } = await scrape();
    expect(text).toContain('pid="4101"');
    expect(text).not.toContain('pid="4102"');
  });

  it('never lowers a counter fed by totals, even when the figure the source reports drops', async () => {
    expect(value((await scrape()).text, 'cluster2_requests_total')).toBe(600);
    // Worker 4102 disappears and the source's sum (wrongly) loses its share: 300 < 600.
    t.source.current = makeStatus([makeWorker(4101, 1)]);
    t.source.current.restarts = { crash: 0 };
    let text = (await scrape()).text;
    expect(value(text, 'cluster2_requests_total')).toBe(600);
    expect(value(text, 'cluster2_restarts_total{reason="crash"}')).toBe(1);
    expect(value(text, 'cluster2_restarts_total{reason="maxMemory"}')).toBe(2); // a reason no longer reported stays
    t.source.current = makeStatus([makeWorker(4101, 1, { requests: 700 })]);
    text = (await scrape()).text;
    expect(value(text, 'cluster2_requests_total')).toBe(700);
  });

  it("keeps its metrics out of prom-client's global registry", async () => {
    await scrape();
    expect(await globalRegistry.metrics()).not.toContain('cluster2_');
  });

  // promtool comes from Debian's `prometheus` package, which CI may not install: without it
  // there is nothing to run, so only this one test is skipped.
  const promtool = spawnSync('which', ['promtool']).status === 0;
  it.skipIf(!promtool)('passes `promtool check metrics`', async () => {
    const { text } = await scrape();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
