// The dashboard in a real browser against a live 2-worker cluster: the worker table follows
// deaths and reloads without a page reload, and the buttons act on the cluster (the app's own
// ECV answers confirm it).
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.mjs';
import { Fixture, isAlive, repoRoot, request, tempDir, until, type Endpoints } from './helpers.js';

const ARTIFACT = path.join(repoRoot, 'test-e2e', 'artifacts', 'dashboard.png');

let browser: Browser;
let page: Page;
let fixture: Fixture;
let root: string;
let endpoints: Endpoints;
const pageErrors: string[] = [];
let navigations = 0;

beforeAll(async () => {
  root = tempDir('dashboard');
  fixture = new Fixture({
    noWorkers: 2,
    heartbeatInterval: 250,
    ecv: { control: true },
    pids: path.join(root, 'pids'),
    logs: path.join(root, 'logs'),
  });
  endpoints = await fixture.ready();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // CSP violations and script errors surface here; the dashboard must have none.
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  await page.goto(`http://127.0.0.1:${endpoints.monPort}/`, { timeout: 30_000 });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  fixture?.kill();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Worker pids the table shows now, sorted. */
const shownPids = (): Promise<number[]> =>
  page.$$eval('[data-testid="worker-row"]', (rows) => rows.map((row) => Number((row as HTMLElement).dataset.pid)).sort((a, b) => a - b));

const ecvText = (): Promise<string> => page.locator('[data-testid="ecv-state"]').innerText();

const sorted = (pids: number[]): number[] => [...pids].sort((a, b) => a - b);

async function expectTable(what: string, condition: (pids: number[]) => boolean, timeout = 15_000): Promise<number[]> {
  let shown: number[] = [];
  await until(
    async () => condition((shown = await shownPids())),
    timeout,
    what,
    () => `table shows ${JSON.stringify(shown)}`,
  );
  return shownPids();
}

async function ecvAnswers(): Promise<Array<{ status: number; body: string }>> {
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await request(endpoints.port, '/ecv'));
  return answers;
}

describe('monitor dashboard in Chromium', () => {
  it('lists both workers and goes live', async () => {
    const workers = sorted(fixture.workerPids());
    expect(workers).toHaveLength(2);
    await expectTable('both worker rows', (pids) => JSON.stringify(pids) === JSON.stringify(workers));
    await until(async () => (await page.locator('#conn').innerText()) === 'live', 10_000, 'the event stream to connect');
    expect(await ecvText()).toBe('enabled');
  });

  it('shows a SIGKILLed worker replaced without reloading the page', async () => {
    const [victim, survivor] = fixture.workerPids() as [number, number];
    process.kill(victim, 'SIGKILL');
    await fixture.waitFor('died', { where: (m) => m.args![0] === victim });
    await until(() => fixture.workerPids().length === 2, 15_000, 'a replacement worker');
    const replacement = fixture.workerPids().find((pid) => pid !== survivor)!;
    const shown = await expectTable(`worker ${replacement} in and ${victim} out`, (pids) => pids.includes(replacement) && !pids.includes(victim));
    expect(shown).toEqual(sorted([survivor, replacement]));
    expect(navigations).toBe(1);
  });

  it('disables and enables ECV from the buttons, and the app agrees', async () => {
    await page.click('[data-testid="ecv-disable"]');
    await until(async () => (await ecvText()) === 'disabled', 10_000, 'ECV state "disabled"');
    for (const answer of await ecvAnswers()) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatch(/^status=DISABLED&ServeTraffic=false&/);
    }

    await page.click('[data-testid="ecv-enable"]');
    await until(async () => (await ecvText()) === 'enabled', 10_000, 'ECV state "enabled"');
    for (const answer of await ecvAnswers()) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^status=AVAILABLE&ServeTraffic=true&/);
    }
  });

  it('replaces every worker in the table after Reload', async () => {
    const old = sorted(fixture.workerPids());
    await expectTable('the current workers', (pids) => JSON.stringify(pids) === JSON.stringify(old));
    await page.click('[data-testid="reload"]');
    const shown = await expectTable('two new workers', (pids) => pids.length === 2 && pids.every((pid) => !old.includes(pid)), 30_000);
    await until(() => old.every((pid) => !isAlive(pid)), 15_000, 'the old workers to exit');
    expect(shown).toEqual(sorted(fixture.workerPids()));
    const states = await page.$$eval('[data-testid="worker-row"]', (rows) => rows.map((row) => (row as HTMLElement).dataset.state));
    expect(states).toEqual(['listening', 'listening']);
    expect(navigations).toBe(1);

    fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    expect(fs.statSync(ARTIFACT).size).toBeGreaterThan(10_000);
  });

  it('logged no script or CSP errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('monitor dashboard in Chromium with monToken', () => {
  const TOKEN = 'dashboard-e2e-token';
  let tokenFixture: Fixture;
  let tokenRoot: string;
  let tokenPage: Page;
  const tokenPageErrors: string[] = [];
  const requestsWithTokenInUrl: string[] = [];
  const unauthorized: string[] = [];

  beforeAll(async () => {
    tokenRoot = tempDir('dashboard-token');
    fs.mkdirSync(path.join(tokenRoot, 'logs'));
    fs.writeFileSync(path.join(tokenRoot, 'logs', 'app.log'), 'a line only the token holder may read\n');
    tokenFixture = new Fixture({
      noWorkers: 1,
      heartbeatInterval: 250,
      monToken: TOKEN,
      ecv: { control: true },
      pids: path.join(tokenRoot, 'pids'),
      logs: path.join(tokenRoot, 'logs'),
    });
    const { monPort } = await tokenFixture.ready();
    tokenPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    tokenPage.on('console', (message) => {
      if (message.type() === 'error') tokenPageErrors.push(message.text());
    });
    tokenPage.on('pageerror', (error) => tokenPageErrors.push(error.message));
    tokenPage.on('request', (req) => {
      if (req.url().includes(TOKEN) && !req.isNavigationRequest()) requestsWithTokenInUrl.push(req.url());
    });
    tokenPage.on('response', (res) => {
      if (res.status() === 401 || res.status() === 403) unauthorized.push(`${res.status()} ${res.url()}`);
    });
    await tokenPage.goto(`http://127.0.0.1:${monPort}/?token=${TOKEN}`, { timeout: 30_000 });
  }, 90_000);
  afterAll(async () => {
    await tokenPage?.close();
    tokenFixture?.kill();
    if (tokenRoot) fs.rmSync(tokenRoot, { recursive: true, force: true });
  });

  it('opened as /?token=… renders live data, lists the logs and flips ECV, sending the token only as a header', async () => {
    const [worker] = tokenFixture.workerPids() as [number];
    await until(async () => (await tokenPage.locator('#conn').innerText()) === 'live', 10_000, 'the event stream to connect');
    await until(
      async () =>
        (await tokenPage.$$eval('[data-testid="worker-row"]', (rows) => rows.map((row) => Number((row as HTMLElement).dataset.pid)))).includes(worker),
      10_000,
      'the worker row',
    );
    await until(async () => (await tokenPage.locator('[data-testid="log-file"][data-name="app.log"]').count()) === 1, 10_000, 'the log list');

    await tokenPage.click('[data-testid="ecv-disable"]');
    await until(async () => (await tokenPage.locator('[data-testid="ecv-state"]').innerText()) === 'disabled', 10_000, 'ECV state "disabled"');
    expect((await request((await tokenFixture.ready()).port, '/ecv')).status).toBe(400);
    await tokenPage.click('[data-testid="ecv-enable"]');
    await until(async () => (await tokenPage.locator('[data-testid="ecv-state"]').innerText()) === 'enabled', 10_000, 'ECV state "enabled"');

    expect(unauthorized).toEqual([]);
    expect(requestsWithTokenInUrl).toEqual([]);
    expect(tokenPageErrors).toEqual([]);
  });
});
