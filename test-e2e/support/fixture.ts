// How every test that forks runs a clustered app: the fixture's master as a child process that
// reports the Cluster's events over IPC, polling with deadlines, teardown by pid, and loopback
// HTTP. Shared by core's tests and the end-to-end suites; each suite extends `Fixture` with where
// its fixtures live and what its `ready` report carries.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/** What a fixture master reports: `{ event, time, … }`, Cluster events with their `args`. */
export interface FixtureMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  pid?: number;
  monitor?: { host: string; port: number };
  /** Echo of the id a `call()` sent. */
  id?: number;
  code?: string;
  message?: string;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  detached?: boolean;
  /** A command the master runs under, e.g. `['prlimit', '--nofile=1024']` (it must exec its arguments). */
  launcher?: string[];
  /** `'pipe'`: the master's stdout is kept in `stdout` instead of going to the test's. @default 'inherit' */
  stdout?: 'inherit' | 'pipe';
}

/** Every fixture master still running: a test file that forgot one does not leave it behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A fixture master running as a child process, with every event it reported. */
export class Fixture<M extends FixtureMessage = FixtureMessage> {
  readonly child: ChildProcess;
  readonly messages: M[] = [];
  stderr = '';
  /** The master's stdout, with `stdout: 'pipe'`. */
  stdout = '';
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  exitedAt: number | undefined;
  readonly exited: Promise<void>;
  #calls = 0;

  /** Runs `script` (an absolute path) with `options` as FIXTURE_OPTIONS (JSON). */
  constructor(script: string, options: object, { env = {}, cwd, detached = false, launcher = [], stdout = 'inherit' }: SpawnOptions = {}) {
    const [command, ...args] = [...launcher, process.execPath, script];
    this.child = spawn(command, args, {
      cwd,
      detached,
      env: { ...process.env, FIXTURE_OPTIONS: JSON.stringify(options), ...env },
      stdio: ['ignore', stdout, 'pipe', 'ipc'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    running.add(this.child);
    this.child.on('message', (message: M) => this.messages.push(message));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitedAt = Date.now();
        this.exitCode = code;
        this.exitSignal = signal;
        running.delete(this.child);
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

  /** The events `name` reported from message index `from` on. */
  events(name: string, from = 0): M[] {
    return this.messages.slice(from).filter((m) => m.event === name);
  }

  /** Pids (first argument) of the events `name` reported from message index `from` on. */
  pids(name: string, from = 0): number[] {
    return this.events(name, from).map((m) => m.args![0] as number);
  }

  /** Waits for the `count`-th event `name` (from message index `from`, matching `where`). */
  async waitFor(
    name: string,
    { count = 1, timeout = 15_000, where, from = 0 }: { count?: number; timeout?: number; where?: (m: M) => boolean; from?: number } = {},
  ): Promise<M> {
    const matching = () => this.events(name, from).filter((m) => !where || where(m));
    await until(
      () => matching().length >= count,
      timeout,
      `event "${name}" x${count}`,
      () => `stderr: ${this.stderr}`,
    );
    return matching()[count - 1]!;
  }

  /** The master's `ready` report: every worker listens. */
  readyReport(timeout = 20_000): Promise<M> {
    return this.waitFor('ready', { timeout });
  }

  /** Asks the master to run `c[name]()` and does not wait (the master may exit before it could answer). */
  send(name: string): void {
    this.child.send({ call: name });
  }

  /** Runs `c[name]()` in the master; resolves with its `called` or `call-failed` report. */
  async call(name: string, timeout = 60_000): Promise<M> {
    const id = ++this.#calls;
    this.child.send({ call: name, id });
    const mine = (m: M) => (m.event === 'called' || m.event === 'call-failed') && m.id === id;
    await until(
      () => this.messages.some(mine),
      timeout,
      `${name}() to settle`,
      () => `stderr: ${this.stderr}`,
    );
    return this.messages.find(mine)!;
  }

  async waitForExit(timeout = 20_000): Promise<void> {
    await Promise.race([
      this.exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`fixture did not exit within ${timeout} ms; stderr: ${this.stderr}`)), timeout).unref()),
    ]);
  }

  /** Workers alive as the events tell: listening and not yet died, in order of listening. */
  workerPids(): number[] {
    const alive = new Set<number>();
    for (const m of this.messages) {
      if (m.event === 'listening') alive.add(m.args![0] as number);
      if (m.event === 'died') alive.delete(m.args![0] as number);
    }
    return [...alive];
  }

  /** Every worker pid the master ever reported (forked or listening). */
  everyPid(): number[] {
    return [...new Set([...this.pids('forked'), ...this.pids('listening')])];
  }

  /** SIGKILLs every worker it ever reported and the master (teardown; the gone are ignored). */
  kill(): void {
    for (const pid of this.everyPid()) signal(pid, 'SIGKILL');
    if (this.running) this.child.kill('SIGKILL');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

/** Kills the given fixtures: their workers by pid, then their masters. Register in afterEach. */
export function killAll(fixtures: Fixture<FixtureMessage>[]): void {
  for (const fixture of fixtures) fixture.kill();
}

/** Polls `condition` every `every` ms until it holds, or throws once `timeout` ms pass. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeout: number,
  what: string,
  detail: () => string = () => '',
  every = 20,
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/**
 * True while `pid` runs. A zombie does not count: an orphaned worker that exited stays a zombie
 * until init reaps it, which can take a second or two, and holds nothing by then.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; the command may contain spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No procfs: kill(pid, 0) succeeded, so it runs.
    return true;
  }
}

/** A fresh directory under the OS temp dir. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cluster2-${prefix}-`));
}

/** A fresh directory holding a self-signed certificate for 127.0.0.1 (key.pem, cert.pem), made with openssl. */
export function selfSignedCertDir(prefix: string): string {
  const dir = tempDir(prefix);
  const subject = ['-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', ...subject], { stdio: 'ignore' });
  return dir;
}

/**
 * For a fixture's `/hold` route: requests stay in flight until `release()`, however long the
 * test needs to get them all there (a timer would have to outlast the slowest machine).
 */
export function holdUntilReleased(): { env: { FIXTURE_RELEASE: string }; release(): void } {
  const file = path.join(tempDir('hold'), 'release');
  return { env: { FIXTURE_RELEASE: file }, release: () => fs.writeFileSync(file, '') };
}

/** A heartbeat predicate: at least `count` requests in flight over the whole cluster. */
export function inFlightAtLeast(count: number): (message: FixtureMessage) => boolean {
  return (message) => (message.args![0] as { totals: { inFlight: number } }).totals.inFlight >= count;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  /** `false` (the default): a fresh connection. */
  agent?: http.Agent | false;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
  /** Abort after this many ms. @default 10000 */
  timeout?: number;
}

/** One HTTP request to 127.0.0.1. */
export function request(port: number, target: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: target,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: options.headers,
        signal: AbortSignal.timeout(options.timeout ?? 10_000),
      },
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
