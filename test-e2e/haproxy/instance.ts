// One cluster2 instance (a fixture master and its workers) run as a child process, with the
// events its master reported over IPC; plus deadline polling and loopback HTTP for the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'app.mjs');

export interface InstanceMessage {
  event: string;
  time: number;
  args?: unknown[];
  ports?: number[];
  call?: string;
  code?: string;
  message?: string;
}

/** Polls `condition` every `every` ms until it holds; throws after `timeout` ms. */
export async function until(condition: () => boolean | Promise<boolean>, timeout: number, what: string, detail: () => string = () => '', every = 20): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** A port that was free a moment ago on 127.0.0.1 (for HAProxy, which cannot take port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One request on 127.0.0.1:`port`, on a fresh connection. */
export function httpRequest(port: number, pathname: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export class Instance {
  readonly child: ChildProcess;
  readonly messages: InstanceMessage[] = [];
  stderr = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;
  port = 0;

  constructor(readonly name: string, options: object = {}) {
    this.child = spawn(process.execPath, [fixture], {
      env: { ...process.env, INSTANCE: name, FIXTURE_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.on('message', (message: InstanceMessage) => this.messages.push(message));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  events(name: string): InstanceMessage[] {
    return this.messages.filter((m) => m.event === name);
  }

  async waitFor(name: string, { timeout = 15_000, where }: { timeout?: number; where?: (m: InstanceMessage) => boolean } = {}): Promise<InstanceMessage> {
    const match = () => this.events(name).find((m) => !where || where(m));
    await until(() => match() !== undefined, timeout, `instance ${this.name}: event "${name}"`, () => `stderr: ${this.stderr}`);
    return match()!;
  }

  /** Resolves with the app port once every worker listens. */
  async ready(): Promise<number> {
    this.port = (await this.waitFor('ready', { timeout: 20_000 })).ports![0]!;
    return this.port;
  }

  /** Runs `c[call]()` in the master. */
  call(call: 'disable' | 'enable' | 'shutdown' | 'stop' | 'reload'): void {
    this.child.send({ call });
  }

  /** A request straight to this instance (not through HAProxy), on a fresh connection. */
  request(pathname: string, method = 'GET'): Promise<{ status: number; body: string }> {
    return httpRequest(this.port, pathname, method);
  }

  /** Kills the master and every worker it reported, by pid. */
  kill(): void {
    const workers = new Set<number>();
    for (const m of this.messages) {
      if (m.event === 'listening') workers.add(m.args![0] as number);
      if (m.event === 'died') workers.delete(m.args![0] as number);
    }
    for (const pid of [...workers, this.child.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}
