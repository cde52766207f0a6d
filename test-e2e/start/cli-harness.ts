// `cluster2 start` as users run it: the CLI's master as a child process in its own process group
// (teardown kills the group: master and workers), its stdout and stderr collected, and the other
// `cluster2` commands run to completion against its pids directory.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, until } from '../support/fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const appsDir = path.join(here, 'apps');
export const cliPath = path.resolve(here, '../node_modules/@cluster2/core/dist/cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cluster2 <args>` to its end (bounded by `timeout`). */
export function runCli(
  args: string[],
  { cwd, env = {}, timeout = 60_000 }: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cluster2 ${args.join(' ')} did not end within ${timeout} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A foreground `cluster2 start` master. */
export class StartedMaster {
  readonly child: ChildProcess;
  readonly pids: string;
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;

  /** `args` after `start`; `--pids <tmp>` and `--mon-port 0` are added unless given. PORT=0 unless `env` sets it. */
  constructor(args: string[], { cwd, env = {} }: { cwd?: string; env?: Record<string, string> } = {}) {
    this.pids = tempDir('cluster2-start-pids');
    const extra = [
      ...(args.includes('--pids') || args.includes('--no-pids') ? [] : ['--pids', this.pids]),
      ...(args.includes('--mon-port') ? [] : ['--mon-port', '0']),
    ];
    const split = args.indexOf('--');
    const full = split === -1 ? [...args, ...extra] : [...args.slice(0, split), ...extra, ...args.slice(split)];
    this.child = spawn(process.execPath, [cliPath, 'start', ...full], {
      cwd,
      detached: true,
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The app's port, from the master's `serving … on port N` line. */
  async port(timeout = 30_000): Promise<number> {
    await until(
      () => /serving .* on port (\d+)/.test(this.stdout) || this.exitCode !== undefined,
      timeout,
      'the serving line',
      () => this.output(),
    );
    const match = /serving .* on port (\d+)/.exec(this.stdout);
    if (!match) throw new Error(`the master exited (${this.exitCode}) before serving: ${this.output()}`);
    return Number(match[1]);
  }

  /** The workers the monitor lists, by `cluster2 status --json`. */
  async workers(): Promise<{ pid: number; instance: number; state: string }[]> {
    const { stdout } = await runCli(['status', '--json', '--pids', this.pids]);
    return (JSON.parse(stdout) as { workers: { pid: number; instance: number; state: string }[] }).workers;
  }

  async waitForExit(timeout = 30_000): Promise<void> {
    await until(
      () => this.exitCode !== undefined,
      timeout,
      'the master to exit',
      () => this.output(),
    );
  }

  output(): string {
    return `stdout: ${this.stdout}\nstderr: ${this.stderr}`;
  }

  /** SIGKILLs the master's process group: the master and its workers. */
  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {}
  }
}
