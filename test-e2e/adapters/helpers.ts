// Helpers for the adapter contract suite: a clustered fixture app started as a child process
// (its master reports to the test over IPC), polling with deadlines, and plain HTTP requests.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface FixtureMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  workers?: number[];
  pid?: number;
  code?: string;
  message?: string;
}

/** A fixture master running as a child process, with the events it reported. */
export class Fixture {
  readonly child: ChildProcess;
  readonly messages: FixtureMessage[] = [];
  stderr = '';
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  readonly exited: Promise<void>;

  constructor(script: string, options: object, env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [path.join(fixturesDir, script)], {
      env: { ...process.env, FIXTURE_OPTIONS: JSON.stringify(options), ...env },
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

  events(name: string): FixtureMessage[] {
    return this.messages.filter((m) => m.event === name);
  }

  /** Waits for a reported event (optionally one matching `where`). */
  async waitFor(name: string, { timeout = 15_000, where }: { timeout?: number; where?: (m: FixtureMessage) => boolean } = {}): Promise<FixtureMessage> {
    const match = () => this.events(name).find((m) => !where || where(m));
    await until(() => match() !== undefined, timeout, `event "${name}"`, () => this.stderr);
    return match()!;
  }

  /** Resolves with the app port once the master reported that every worker listens. */
  async ready(timeout = 20_000): Promise<number> {
    const ready = await this.waitFor('ready', { timeout });
    return ready.ports![0]!;
  }

  /** Asks the master to run a Cluster method (`shutdown`, `stop`, `disable`, …). */
  call(method: string): void {
    this.child.send({ call: method });
  }

  async waitForExit(timeout = 20_000): Promise<void> {
    await Promise.race([
      this.exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`fixture did not exit within ${timeout} ms; stderr: ${this.stderr}`)), timeout).unref()),
    ]);
  }

  /** The workers the master reported at start, and every worker it reported listening since. */
  workerPids(): number[] {
    const pids = new Set<number>(this.events('ready').flatMap((m) => m.workers ?? []));
    for (const m of this.events('listening')) pids.add(m.args![0] as number);
    return [...pids];
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

/** Kills the given fixtures and the workers they reported, by pid. Register in afterEach. */
export function killAll(fixtures: Fixture[]): void {
  for (const fixture of fixtures) {
    for (const pid of fixture.workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (fixture.exitCode === undefined) fixture.child.kill('SIGKILL');
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1 (agent: false means a fresh connection). */
export function request(port: number, urlPath: string, options: { method?: string; agent?: http.Agent | false; headers?: http.OutgoingHttpHeaders } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Counts equal values: `{ 200: 2000 }`. */
export function tally(values: (string | number)[]): Record<string, number> {
  return values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
}
