// Shared by the monitor end-to-end tests: a fixture master run as a child process (events over
// IPC), deadline polling, loopback HTTP, and per-test temp directories for pids and logs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixturesDir = path.join(here, 'fixtures');
/** The repository root (test-e2e/..). */
export const repoRoot = path.resolve(here, '..', '..');
/** The built `cluster2` executable. */
export const cliPath = path.join(repoRoot, 'packages', 'core', 'dist', 'cli.js');

export interface FixtureMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  pid?: number;
  monitor?: { host: string; port: number };
  code?: string;
  message?: string;
}

/** Where a ready fixture serves: the app port and the monitor port (both on 127.0.0.1). */
export interface Endpoints {
  port: number;
  monPort: number;
}

/** A fixture master running as a child process, with the events it reported. */
export class Fixture {
  readonly child: ChildProcess;
  readonly messages: FixtureMessage[] = [];
  stderr = '';
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  readonly exited: Promise<void>;

  constructor(options: object, { script = 'monitored-app.mjs', cwd }: { script?: string; cwd?: string } = {}) {
    this.child = spawn(process.execPath, [path.join(fixturesDir, script)], {
      cwd,
      env: { ...process.env, FIXTURE_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.on('message', (message: FixtureMessage) => this.messages.push(message));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  events(name: string): FixtureMessage[] {
    return this.messages.filter((m) => m.event === name);
  }

  /** Waits for the `count`-th reported event `name` (optionally only those matching `where`). */
  async waitFor(name: string, { count = 1, timeout = 15_000, where }: { count?: number; timeout?: number; where?: (m: FixtureMessage) => boolean } = {}): Promise<FixtureMessage> {
    const matching = (): FixtureMessage[] => this.events(name).filter((m) => !where || where(m));
    await until(() => matching().length >= count, timeout, `event "${name}" x${count}`, () => `stderr: ${this.stderr}`);
    return matching()[count - 1]!;
  }

  /** Resolves once the master reported that every worker listens. */
  async ready(timeout = 30_000): Promise<Endpoints> {
    const ready = await this.waitFor('ready', { timeout });
    if (!ready.monitor) throw new Error('fixture reported no monitor address');
    return { port: ready.ports![0]!, monPort: ready.monitor.port };
  }

  async waitForExit(timeout = 20_000): Promise<void> {
    await until(() => !this.running, timeout, 'fixture exit', () => `stderr: ${this.stderr}`);
  }

  /** Workers that reported `listening` and have not `died`, in order of listening. */
  workerPids(): number[] {
    const alive = new Set<number>();
    for (const m of this.messages) {
      if (m.event === 'listening') alive.add(m.args![0] as number);
      if (m.event === 'died') alive.delete(m.args![0] as number);
    }
    return [...alive];
  }

  /** Every worker pid this fixture ever reported forking. */
  allWorkerPids(): number[] {
    return this.events('forked').map((m) => m.args![0] as number);
  }

  /** SIGKILLs the master and every worker it ever forked (teardown; ignores the gone). */
  kill(): void {
    for (const pid of [...this.allWorkerPids(), this.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}

/** Polls `condition` every 25 ms until it holds or `timeout` ms pass. */
export async function until(condition: () => boolean | Promise<boolean>, timeout: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A fresh directory under the OS temp dir; the caller removes it. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cluster2-e2e-${prefix}-`));
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1 over a fresh connection, bounded by `timeout` ms. */
export function request(
  port: number,
  target: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string; timeout?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', agent: false, headers: options.headers, signal: AbortSignal.timeout(options.timeout ?? 10_000) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** `n` GETs of `/` on the app, `concurrency` at a time; every one must answer 200. */
export async function traffic(port: number, n: number, concurrency = 8): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next += 1;
      const answer = await request(port, '/');
      if (answer.status !== 200) throw new Error(`app answered ${answer.status}: ${answer.body}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Minimal shape of `GET /api/status` the tests read. */
export interface StatusDoc {
  master: { pid: number; state: string };
  workers: Array<{ pid: number; id: number; state: string; lastHeartbeat?: number; requests?: number }>;
  totals: { workers: number; requests: number; totalConnections: number };
  ecv: { state: 'enabled' | 'disabled'; since: string };
}

export async function getStatus(monPort: number): Promise<StatusDoc> {
  const answer = await request(monPort, '/api/status');
  if (answer.status !== 200) throw new Error(`/api/status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as StatusDoc;
}

/** Pids of the workers the monitor shows as listening. */
export async function listeningPids(monPort: number): Promise<number[]> {
  const status = await getStatus(monPort);
  return status.workers.filter((w) => w.state === 'listening').map((w) => w.pid).sort((a, b) => a - b);
}

/** True once nothing accepts connections on 127.0.0.1:`port`. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, signal: AbortSignal.timeout(2000) }, (res) => {
      res.resume();
      resolve(false);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
