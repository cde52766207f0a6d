import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface FixtureMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  pid?: number;
  code?: string;
  message?: string;
}

const children = new Set<ChildProcess>();

/** A fixture master running as a child process, with the events it reported. */
export class Fixture {
  readonly child: ChildProcess;
  readonly messages: FixtureMessage[] = [];
  stderr = '';
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  readonly exited: Promise<void>;

  constructor(script: string, options: object, env: Record<string, string> = {}, cwd?: string, detached = false) {
    this.child = spawn(process.execPath, [path.join(fixturesDir, script)], {
      cwd,
      detached,
      env: { ...process.env, FIXTURE_OPTIONS: JSON.stringify(options), ...env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    children.add(this.child);
    this.child.on('message', (message: FixtureMessage) => this.messages.push(message));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        children.delete(this.child);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  events(name: string): FixtureMessage[] {
    return this.messages.filter((m) => m.event === name);
  }

  /** Waits for a reported event (optionally the n-th, or one matching `where`). */
  async waitFor(name: string, { count = 1, timeout = 15_000, where }: { count?: number; timeout?: number; where?: (m: FixtureMessage) => boolean } = {}): Promise<FixtureMessage> {
    await until(() => this.events(name).filter((m) => !where || where(m)).length >= count, timeout, `event "${name}" x${count}`, () => this.stderr);
    return this.events(name).filter((m) => !where || where(m))[count - 1]!;
  }

  /** Resolves with the app port once the master reported that every worker listens. */
  async ready(timeout = 20_000): Promise<number> {
    const ready = await this.waitFor('ready', { timeout });
    return ready.ports![0]!;
  }

  async waitForExit(timeout = 20_000): Promise<void> {
    await Promise.race([
      this.exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`fixture did not exit within ${timeout} ms; stderr: ${this.stderr}`)), timeout).unref()),
    ]);
  }

  workerPids(): number[] {
    const alive = new Set<number>();
    for (const m of this.messages) {
      if (m.event === 'listening') alive.add(m.args![0] as number);
      if (m.event === 'died') alive.delete(m.args![0] as number);
    }
    return [...alive];
  }
}

/** Polls `condition` until true or `timeout` ms pass. */
export async function until(condition: () => boolean | Promise<boolean>, timeout: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
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

/** Kills every fixture still running, and the workers it names. Register in afterEach. */
export function killAll(fixtures: Fixture[] = []): void {
  for (const fixture of fixtures) {
    for (const pid of fixture.workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  for (const child of children) child.kill('SIGKILL');
}

import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on 127.0.0.1 with node:http (agent: false means a fresh connection). */
export function request(port: number, path: string, options: { method?: string; agent?: http.Agent | false; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers },
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
