import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../support/fixture.js';
import { wsText } from '../support/ws-text.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `command` and waits until its output shows `banner`; `label` names it in the error. */
async function startUntil(
  label: string,
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  banner: RegExp,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 20_000;
  while (!banner.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${label} did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output };
}

/** Starts an example as a user would (`node examples/<name>/server.js`) and waits for its banner. */
async function startExample(name: string, banner: RegExp): Promise<{ child: ChildProcess; port: number; monPort: number; output: () => string }> {
  const [port, monPort] = [await freePort(), await freePort()];
  const env = { PORT: String(port), MON_PORT: String(monPort) };
  const started = await startUntil(name, process.execPath, [path.join(root, 'examples', name, 'server.js')], root, env, banner);
  return { ...started, port, monPort };
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('examples start as the docs say', () => {
  it('examples/http serves the app, ECV and the monitor, and exits 0 on SIGTERM', async () => {
    const { child, port, monPort, output } = await startExample('http', /cluster2 demo: master \d+, 2 workers/);
    expect(output()).toContain(`curl http://127.0.0.1:${port}/`);
    expect(output()).toContain(`open http://127.0.0.1:${monPort}/`);
    const hello = await fetch(`http://127.0.0.1:${port}/`);
    expect(await hello.text()).toMatch(/^hello from worker \d+\n$/);
    const ecv = await fetch(`http://127.0.0.1:${port}/ecv`);
    expect(ecv.status).toBe(200);
    expect(await ecv.text()).toMatch(/^status=AVAILABLE&ServeTraffic=true/);
    const status = (await (await fetch(`http://127.0.0.1:${monPort}/api/status`)).json()) as { workers: unknown[] };
    expect(status.workers).toHaveLength(2);
    const dashboard = await fetch(`http://127.0.0.1:${monPort}/`);
    expect(dashboard.headers.get('content-type')).toMatch(/text\/html/);
    // The request was logged by its worker, labelled by the master, and is in the log viewer's feed.
    await until(() => /^\S+Z \[w[01] \d+\] GET \/$/m.test(output()), 5000, 'the labelled request line', output);
    const logs = (await (await fetch(`http://127.0.0.1:${monPort}/api/logs?stream=out`)).json()) as {
      lines: { worker: string; msg: string }[];
      files: { name: string }[];
    };
    expect(logs.lines.some((line) => /^w[01]$/.test(line.worker) && line.msg === 'GET /')).toBe(true);
    expect(logs.files.map((file) => file.name)).toContain('out.log');
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });

  it('examples/start runs an unmodified server.js through `cluster2 start` and its config file, and exits 0 on SIGTERM', async () => {
    const [port, monPort] = [await freePort(), await freePort()];
    const cli = path.join(root, 'examples', 'start', 'node_modules', '.bin', 'cluster2');
    // `npx cluster2 start` in the example's directory, as its comment says; --mon-port over the config's 3001.
    const { child } = await startUntil(
      'examples/start',
      cli,
      ['start', '--mon-port', String(monPort)],
      path.join(root, 'examples', 'start'),
      { PORT: String(port) },
      /cluster2: serving example on port \d+ with 2 workers/,
    );
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/^hello from worker [01] \(pid \d+\)\n$/);
    expect(await (await fetch(`http://127.0.0.1:${port}/ecv`)).text()).toMatch(/^status=AVAILABLE&ServeTraffic=true/);
    expect((await fetch(`http://127.0.0.1:${port}/ecv/disable`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`http://127.0.0.1:${port}/ecv`)).status).toBe(400);
    const status = (await (await fetch(`http://127.0.0.1:${monPort}/api/status`)).json()) as { workers: unknown[] };
    expect(status.workers).toHaveLength(2);
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });

  it('examples/tcp echoes lines with the worker pid', async () => {
    const { child, port } = await startExample('tcp', /TCP echo on port \d+/);
    const socket = net.connect(port, '127.0.0.1');
    socket.write('hi\n');
    const reply = await new Promise<string>((resolve) => socket.once('data', (data) => resolve(data.toString())));
    socket.destroy();
    expect(reply).toMatch(/^\[\d+\] hi\n$/);
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });

  it.each([
    ['express', /cluster2 \+ Express: master \d+, 2 workers/],
    ['fastify', /cluster2 \+ Fastify: master \d+, 2 workers/],
    ['koa', /cluster2 \+ Koa: master \d+, 2 workers/],
  ])('examples/%s serves its routes, error handler, ECV and monitor, and exits 0 on SIGTERM', async (name, banner) => {
    const { child, port, monPort } = await startExample(name, banner);
    const user = await fetch(`http://127.0.0.1:${port}/users/1`);
    expect(user.status).toBe(200);
    expect(user.headers.get('content-type')).toMatch(/application\/json/);
    expect((await fetch(`http://127.0.0.1:${port}/error`)).status).toBe(500);
    expect((await fetch(`http://127.0.0.1:${port}/no-such-route`)).status).toBe(404);
    const ecv = await fetch(`http://127.0.0.1:${port}/ecv`);
    expect(await ecv.text()).toMatch(/^status=AVAILABLE&ServeTraffic=true/);
    expect((await fetch(`http://127.0.0.1:${port}/ecv/disable`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(`http://127.0.0.1:${port}/ecv`)).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${monPort}/api/status`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });

  it('examples/delegation serves the shared config read through the master', async () => {
    const { child, port } = await startExample('delegation', /delegation demo on/);
    const body = (await (await fetch(`http://127.0.0.1:${port}/config`)).json()) as { worker: number; config: { greeting: string } };
    expect(body.config.greeting).toBe('hello');
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });

  it('examples/websocket echoes over a real WebSocket, and closes it with 1001 on SIGTERM', async () => {
    const { child, port, monPort } = await startExample('websocket', /cluster2 \+ ws: master \d+, 2 workers/);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const messages: { type: string; text?: string; worker: number }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(wsText(data))));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hi there');
    const deadline = Date.now() + 10_000;
    while (messages.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messages[0]).toEqual({ type: 'hello', worker: expect.any(Number) });
    expect(messages[1]).toEqual({ type: 'echo', text: 'hi there', worker: messages[0]!.worker });
    const status = (await (await fetch(`http://127.0.0.1:${monPort}/api/status`)).json()) as { workers: { pid: number }[] };
    expect(status.workers.map((w) => w.pid)).toContain(messages[0]!.worker);
    child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await exitCode(child)).toBe(0);
  });

  it('examples/socketio: a socket.io client with default transports connects and receives broadcasts from both workers', async () => {
    const { child, port, monPort } = await startExample('socketio', /cluster2 \+ socket\.io: master \d+, 2 workers/);
    const status = (await (await fetch(`http://127.0.0.1:${monPort}/api/status`)).json()) as { workers: { pid: number }[] };
    const workers = status.workers.map((w) => w.pid);
    expect(workers).toHaveLength(2);
    // Default transports: long-polling first, then the upgrade to WebSocket.
    const socket = io(`http://127.0.0.1:${port}`, { reconnection: false });
    try {
      const hello = await new Promise<{ worker: number }>((resolve, reject) => {
        socket.once('hello', resolve);
        socket.once('connect_error', reject);
      });
      expect(workers).toContain(hello.worker);
      const tickers = new Set<number>();
      socket.on('tick', ({ from }: { from: number }) => tickers.add(from));
      const deadline = Date.now() + 10_000;
      while (tickers.size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      // io.emit() in each worker reached this client, whichever worker holds its connection.
      expect([...tickers].sort()).toEqual([...workers].sort());
      expect(socket.io.engine.transport.name).toBe('websocket');
    } finally {
      socket.close();
    }
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
  });
});
