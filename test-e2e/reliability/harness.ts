// Shared by the reliability tests: the fixture master as a child process (events over IPC),
// deadline polling, and the summary rows every scenario records.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { artifactsDir, type SummaryRow } from './summary.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export { artifactsDir, type SummaryRow };
export const fixturesDir = path.join(here, 'fixtures');

export interface FixtureMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  pid?: number;
  monitor?: { host: string; port: number };
  workers?: { pid: number; state: string; inFlight: number }[];
  id?: number;
  code?: string;
  message?: string;
}

const children = new Set<ChildProcess>();

/** A fixture master running as a child process, with every event it reported. */
export class Fixture {
  readonly child: ChildProcess;
  readonly messages: FixtureMessage[] = [];
  stderr = '';
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  exitedAt: number | undefined;
  readonly exited: Promise<void>;
  #calls = 0;

  constructor(options: object, env: Record<string, string> = {}, script = 'app.mjs') {
    this.child = spawn(process.execPath, [path.join(fixturesDir, script)], {
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
        this.exitedAt = Date.now();
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

  events(name: string, from = 0): FixtureMessage[] {
    return this.messages.slice(from).filter((m) => m.event === name);
  }

  /** Pids (first argument) of the events `name` reported from message index `from` on. */
  pids(name: string, from = 0): number[] {
    return this.events(name, from).map((m) => m.args![0] as number);
  }

  async waitFor(name: string, { count = 1, timeout = 15_000, where, from = 0 }: { count?: number; timeout?: number; where?: (m: FixtureMessage) => boolean; from?: number } = {}): Promise<FixtureMessage> {
    const matching = () => this.events(name, from).filter((m) => !where || where(m));
    await until(() => matching().length >= count, timeout, `event "${name}" x${count}`, () => `stderr: ${this.stderr}`);
    return matching()[count - 1]!;
  }

  /** Resolves with the ready report once the master said every worker listens. */
  async ready(timeout = 20_000): Promise<FixtureMessage & { ports: number[] }> {
    return (await this.waitFor('ready', { timeout })) as FixtureMessage & { ports: number[] };
  }

  /** Runs `c[name]()` in the master; resolves with its `called` or `call-failed` report. */
  async call(name: string, timeout = 60_000): Promise<FixtureMessage> {
    const id = ++this.#calls;
    this.child.send({ call: name, id });
    const mine = (m: FixtureMessage) => (m.event === 'called' || m.event === 'call-failed') && m.id === id;
    await until(() => this.messages.some(mine), timeout, `${name}() to settle`, () => `stderr: ${this.stderr}`);
    return this.messages.find(mine)!;
  }

  async waitForExit(timeout = 20_000): Promise<void> {
    await Promise.race([
      this.exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`fixture did not exit within ${timeout} ms; stderr: ${this.stderr}`)), timeout).unref()),
    ]);
  }

  /** Workers alive as the events tell: listening and not yet died. */
  workerPids(): number[] {
    const alive = new Set<number>();
    for (const m of this.messages) {
      if (m.event === 'listening') alive.add(m.args![0] as number);
      if (m.event === 'died') alive.delete(m.args![0] as number);
    }
    return [...alive];
  }

  /** Every worker pid the master ever forked. */
  everyPid(): number[] {
    return this.pids('forked');
  }
}

/** SIGKILLs every fixture master still running and every worker it ever forked. Register in afterEach. */
export function killAll(fixtures: Fixture[]): void {
  for (const fixture of fixtures) {
    for (const pid of fixture.everyPid()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (fixture.exitCode === undefined) fixture.child.kill('SIGKILL');
  }
}

/** Polls `condition` until true or `timeout` ms pass. */
export async function until(condition: () => boolean | Promise<boolean>, timeout: number, what: string, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * True while `pid` runs. A zombie does not count: an orphaned worker that exited stays a zombie
 * until init reaps it, which here can take a second or two, and holds nothing by then.
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
    return false;
  }
}

/** True when a fresh server can bind 127.0.0.1:port (nothing, orphan or not, holds it). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Appends a row for the end-of-run table (see summary.global.ts, which names this run's file). */
export function recordSummary(row: SummaryRow): void {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = inject('reliabilitySummaryFile') ?? path.join(artifactsDir, 'reliability-summary.jsonl');
  fs.appendFileSync(file, `${JSON.stringify(row)}\n`);
  console.log(`[reliability] ${row.scenario}: sent ${row.sent}, succeeded ${row.succeeded}, failed ${row.failed}${row.notes ? ` (${row.notes})` : ''}`);
}
