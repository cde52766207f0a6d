// The dashboard's Logs panel in a real browser, served by a live master's monitor: the captured
// lines it is given (GET api/logs and the event stream's logs events, answered here by the test so
// every case is exact) appear newest at the bottom, capped, filtered, err lines marked, hostile
// text shown as text; then a line a worker of that master really prints shows up live.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.mjs';
import { Fixture, request, tempDir, until } from './helpers.js';

interface LogRecord {
  time: number;
  worker: string;
  pid: number;
  stream: 'out' | 'err';
  msg: string;
}

const T0 = Date.parse('2026-12-07T06:40:00.000Z');
const HOSTILE = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>';
/** 2100 live lines: more than the 2000 the panel keeps; every 7th on stderr; the last two hostile and the master's. */
const LIVE: LogRecord[] = Array.from({ length: 2100 }, (_, i) => ({
  time: T0 + 1000 + i,
  worker: `w${i % 2}`,
  pid: 501 + (i % 2),
  stream: i % 7 === 0 ? 'err' : 'out',
  msg: `live line ${i}`,
}));
LIVE[2098] = { time: T0 + 3098, worker: 'w1', pid: 502, stream: 'err', msg: HOSTILE };
LIVE[2099] = { time: T0 + 3099, worker: 'master', pid: 500, stream: 'out', msg: 'worker 501 (w0) died (code 1)' };
const INITIAL: LogRecord[] = [
  { time: T0, worker: 'w0', pid: 501, stream: 'out', msg: 'initial w0' },
  { time: T0 + 1, worker: 'w1', pid: 502, stream: 'err', msg: 'initial w1 err' },
];

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

let browser: Browser;
let page: Page;
let fixture: Fixture;
let root: string;
let monPort: number;
let appPort: number;
let status: unknown;
const logQueries: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  root = tempDir('dashboard-logs');
  fixture = new Fixture({ noWorkers: 2, heartbeatInterval: 250, pids: path.join(root, 'pids'), logs: path.join(root, 'logs') });
  ({ monPort, port: appPort } = await fixture.ready());
  status = JSON.parse((await request(monPort, '/api/status')).body) as unknown;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.route(/\/api\/logs\?/, async (route: Route) => {
    const url = new URL(route.request().url());
    logQueries.push(url.search);
    const worker = url.searchParams.get('worker');
    const stream = url.searchParams.get('stream');
    const lines = INITIAL.filter((r) => (!worker || r.worker === worker) && (!stream || r.stream === stream));
    await route.fulfill({ json: { files: [], lines, dropped: 4 } });
  });
  // The first event stream carries the real status, then the live lines; later ones fail, so the page keeps what it has.
  let streams = 0;
  await page.route(/\/api\/events$/, async (route: Route) => {
    streams += 1;
    if (streams > 1) return route.abort();
    const body = frame('status', status) + frame('logs', LIVE.slice(0, 1000)) + frame('logs', LIVE.slice(1000)) + frame('logs-skipped', { skipped: 5 });
    return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body });
  });
  await page.goto(`http://127.0.0.1:${monPort}/`, { timeout: 30_000 });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  fixture?.kill();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const shownLines = (): Promise<Array<{ text: string; worker: string; stream: string; cls: string }>> =>
  page.$$eval('[data-testid="log-line"]', (rows) =>
    rows.map((row) => ({
      text: row.querySelector('.msg')?.textContent ?? '',
      worker: (row as HTMLElement).dataset.worker!,
      stream: (row as HTMLElement).dataset.stream!,
      cls: row.className,
    })),
  );

describe('dashboard Logs panel in Chromium', () => {
  it('shows the initial and live lines newest at the bottom, keeping the last 2000, scrolled to the end', async () => {
    await until(async () => (await page.locator('[data-testid="log-line"]').count()) === 2000, 15_000, '2000 log lines');
    const lines = await shownLines();
    // 2 initial + 2100 live, capped to the last 2000: the 2 initial and live 0..99 are gone.
    expect(lines[0]?.text).toBe('live line 100');
    expect(lines.at(-1)).toMatchObject({ text: 'worker 501 (w0) died (code 1)', worker: 'master', stream: 'out' });
    expect(logQueries[0]).toBe('?lines=500');
    const scroll = await page.$eval('#log-lines', (el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    expect(scroll).toBeLessThan(2);
  });

  it('shows hostile log text as text: no element, no script run', async () => {
    const hostile = (await shownLines()).at(-2)!;
    expect(hostile).toMatchObject({ text: HOSTILE, worker: 'w1', stream: 'err' });
    expect(await page.$$eval('#log-lines img, #log-lines script', (found) => found.length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('marks err lines apart from out lines', async () => {
    const colors = await page.$$eval('[data-testid="log-line"]', (rows) => {
      const err = rows.find((row) => row.classList.contains('err'))!;
      const out = rows.find((row) => row.classList.contains('out'))!;
      return [getComputedStyle(err).color, getComputedStyle(out).color];
    });
    expect(colors[0]).not.toBe(colors[1]);
  });

  it("shows 'dropped N' and the lines skipped for speed; no Files section without files", async () => {
    await until(async () => (await page.locator('[data-testid="log-dropped"]').innerText()).includes('5 not shown'), 10_000, 'the skipped count');
    expect(await page.locator('[data-testid="log-dropped"]').innerText()).toBe('dropped 4 \u00b7 5 not shown (too fast)');
    expect(await page.locator('#log-files-box').isHidden()).toBe(true);
  });

  it('offers All, w0, w1 and master, and filters by worker and stream through api/logs', async () => {
    const options = await page.$$eval('[data-testid="log-worker"] option', (found) => found.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(['', 'w0', 'w1', 'master']);
    await page.selectOption('[data-testid="log-worker"]', 'w1');
    await until(async () => (await shownLines()).map((l) => l.text).join() === 'initial w1 err', 10_000, 'only w1 lines');
    expect(logQueries.at(-1)).toBe('?lines=500&worker=w1');
    await page.selectOption('[data-testid="log-worker"]', '');
    await page.selectOption('[data-testid="log-stream"]', 'out');
    await until(async () => (await shownLines()).map((l) => l.text).join() === 'initial w0', 10_000, 'only out lines');
    expect(logQueries.at(-1)).toBe('?lines=500&stream=out');
  });

  it('logged no script or CSP errors in the page', () => {
    // The aborted event-stream retries are network failures the page reports itself, not script errors.
    expect(pageErrors.filter((e) => !e.includes('net::ERR_FAILED'))).toEqual([]);
  });
});

describe('dashboard Logs panel scrolling in Chromium', () => {
  // A live event stream the test writes to: the page's requests for api/events are sent here.
  let streamServer: http.Server;
  let stream: http.ServerResponse | undefined;
  let scrollPage: Page;
  let next = 0;
  const send = (count: number): void => {
    const batch = Array.from({ length: count }, () => ({ time: T0 + next, worker: 'w0', pid: 501, stream: 'out', msg: `scroll line ${next++}` }));
    stream!.write(frame('logs', batch));
  };
  const lineCount = (): Promise<number> => scrollPage.locator('[data-testid="log-line"]').count();
  const fromBottom = (): Promise<number> => scrollPage.$eval('#log-lines', (el) => el.scrollHeight - el.scrollTop - el.clientHeight);

  beforeAll(async () => {
    streamServer = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.write(frame('status', status));
      stream = res;
    });
    await new Promise<void>((resolve) => streamServer.listen(0, '127.0.0.1', resolve));
    const streamPort = (streamServer.address() as AddressInfo).port;
    scrollPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await scrollPage.route(/\/api\/logs\?/, (route: Route) => route.fulfill({ json: { files: [], lines: INITIAL, dropped: 0 } }));
    await scrollPage.route(/\/api\/events$/, (route: Route) => route.continue({ url: `http://127.0.0.1:${streamPort}/api/events` }));
    await scrollPage.goto(`http://127.0.0.1:${monPort}/`, { timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await scrollPage?.close();
    stream?.destroy();
    streamServer?.closeAllConnections();
    await new Promise((resolve) => streamServer?.close(resolve));
  });

  it('follows new lines at the bottom, and leaves a reader who scrolled up where they are', async () => {
    await until(async () => stream !== undefined && (await lineCount()) === 2, 15_000, 'the stream and the initial lines');
    send(300);
    await until(async () => (await lineCount()) === 302, 10_000, '302 lines');
    expect(await fromBottom()).toBeLessThan(2);

    await scrollPage.$eval('#log-lines', (el) => (el.scrollTop = 0));
    send(50);
    await until(async () => (await lineCount()) === 352, 10_000, '352 lines');
    expect(await scrollPage.$eval('#log-lines', (el) => el.scrollTop)).toBe(0);

    await scrollPage.$eval('#log-lines', (el) => (el.scrollTop = el.scrollHeight));
    send(50);
    await until(async () => (await lineCount()) === 402, 10_000, '402 lines');
    expect(await fromBottom()).toBeLessThan(2);
  });
});

describe('dashboard Logs panel with the live master in Chromium', () => {
  it('shows a line a worker prints, live, as text, with its worker label', async () => {
    const live = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    live.on('pageerror', (error) => errors.push(error.message));
    try {
      await live.goto(`http://127.0.0.1:${monPort}/`, { timeout: 30_000 });
      await until(async () => (await live.locator('#conn').innerText()) === 'live', 10_000, 'the event stream to connect');
      const text = `<b>printed</b> ${Date.now()}`;
      const answer = await request(appPort, `/print?text=${encodeURIComponent(text)}&stream=err`);
      const pid = Number(/printed by (\d+)/.exec(answer.body)![1]);
      const line = live.locator('[data-testid="log-line"]', { hasText: text });
      await until(async () => (await line.count()) === 1, 10_000, 'the printed line in the panel');
      expect(await line.getAttribute('data-stream')).toBe('err');
      expect(await line.getAttribute('data-worker')).toMatch(/^w[01]$/);
      expect(await line.locator('.who').innerText()).toMatch(new RegExp(`^w[01] ${pid}$`));
      expect(await live.$$eval('#log-lines b', (found) => found.length)).toBe(0);
      // The master's own lines are there too (its workers' forks, at least).
      expect(await live.locator('[data-testid="log-line"][data-worker="master"]').count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await live.close();
    }
  });
});
