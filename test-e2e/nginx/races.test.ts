// The race behind two rules of docs/deployment.md "Behind nginx": a worker ends an idle upstream
// connection with a FIN (after `timeout`, cluster2's idle socket timeout, or in a drain after
// `idleGrace`); if nginx writes a request on it before it has seen that FIN, the request is lost:
// nginx answers a POST with 502 (a GET it would resend). On a network the window is a round trip;
// here it is made certain by stopping nginx's workers (SIGSTOP, as a stalled or distant proxy)
// while a POST waits unread in nginx's client socket, and letting them go on once the worker has
// ended the connection.
//   1. nginx's upstream keepalive_timeout must be shorter than `timeout`: same sequence, two
//      settings, only the longer one loses the POST.
//   2. A plain SIGTERM to an instance nginx still sends to loses the POST the same way, which the
//      recipe (mark it down, reload, wait for the old nginx workers) rules out.
import fs from 'node:fs';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../haproxy/haproxy.js';
import { Instance } from '../haproxy/instance.js';
import { until } from '../support/fixture.js';
import { POST_BODY } from './load.js';
import { NGINX, Nginx } from './nginx.js';
import { connectionsOn, connectionsTo } from './sockets.js';

const missing = fs.existsSync(NGINX) ? undefined : `nginx is not installed (no ${NGINX}): apt-get install nginx, or set NGINX_BIN`;

/** cluster2's idle socket timeout in this test, ms (the default is 30000). */
const TIMEOUT = 2000;
/** nginx stalls once its upstream connection has been idle this long: past a shorter keepalive_timeout, before TIMEOUT. */
const STALL_AT = 1500;

const instances: Instance[] = [];
const proxies: Nginx[] = [];
const stopped: number[] = [];
afterEach(async () => {
  for (const pid of stopped.splice(0)) signal(pid, 'SIGCONT');
  for (const nginx of proxies.splice(0)) await nginx.stop();
  for (const instance of instances.splice(0)) instance.kill();
});

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

interface Result {
  status: number;
  bodyLength: string | undefined;
  /** nginx's state for its upstream connections just before it went on. */
  upstreamStates: string[];
  errorLog: string;
}

/**
 * A warm upstream connection idle for STALL_AT, nginx stopped, a POST queued in nginx's client
 * socket, then `meanwhile` (with nginx still stopped), then nginx goes on: the POST's answer.
 */
async function postWhileNginxStalls(keepaliveTimeout: string | undefined, meanwhile: (instance: Instance, idleFrom: number) => Promise<void>): Promise<Result> {
  const port = await freePort();
  const instance = new Instance('A', { port, timeout: TIMEOUT });
  instances.push(instance);
  await instance.ready();
  const nginx = await Nginx.start(await freePort(), [{ port }], { keepaliveTimeout });
  proxies.push(nginx);
  const pool = new Pool(`http://127.0.0.1:${nginx.port}`, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  try {
    // One GET: the nginx worker serving this client connection now caches an upstream connection.
    const warm = await pool.request({ path: '/', method: 'GET' });
    await warm.body.text();
    expect(warm.statusCode).toBe(200);
    const idleFrom = Date.now();
    // Time is what this test is about: the upstream connection must be idle this long.
    await new Promise((resolve) => setTimeout(resolve, STALL_AT));
    for (const pid of nginx.workers()) {
      stopped.push(pid);
      process.kill(pid, 'SIGSTOP');
    }
    const answer = pool.request({ path: '/', method: 'POST', body: POST_BODY, headers: { 'content-type': 'text/plain' } });
    await until(() => connectionsOn(nginx.port).some((s) => s.rxQueue > 0), 5000, "the POST to wait unread in nginx's client socket");
    await meanwhile(instance, idleFrom);
    const upstreamStates = connectionsTo(port).map((s) => s.state);
    for (const pid of stopped.splice(0)) signal(pid, 'SIGCONT');
    const res = await answer;
    await res.body.text();
    return { status: res.statusCode, bodyLength: res.headers['x-body-length'] as string | undefined, upstreamStates, errorLog: nginx.errorLog() };
  } finally {
    for (const pid of stopped.splice(0)) signal(pid, 'SIGCONT');
    await pool.destroy();
  }
}

/** Past the worker's idle timeout (its sweep runs every TIMEOUT / 4). */
async function idleTimeoutPasses(_: Instance, idleFrom: number): Promise<void> {
  await until(() => Date.now() - idleFrom >= TIMEOUT * 1.5, 10_000, 'the idle timeout to pass');
}

/** A graceful shutdown of the instance nginx sends to: its drain ends the idle connection (FIN) after idleGrace. */
async function instanceShutsDown(instance: Instance): Promise<void> {
  process.kill(instance.pid, 'SIGTERM');
  await until(() => connectionsTo(instance.port).some((s) => s.state === 'CLOSE_WAIT'), 10_000, "the draining worker's FIN to reach nginx");
}

describe.skipIf(missing)(missing ? `skipped: ${missing}` : 'a POST nginx writes on an upstream connection the worker has just ended', () => {
  it(`keepalive_timeout 60s, longer than timeout ${TIMEOUT} ms (control): the worker ends the idle connection, nginx writes the POST on it and answers 502`, async () => {
    const result = await postWhileNginxStalls('60s', idleTimeoutPasses);
    // The worker's FIN had arrived: nginx's end was in CLOSE_WAIT when it went on.
    expect(result.upstreamStates).toContain('CLOSE_WAIT');
    expect(result.status).toBe(502);
    expect(result.errorLog).toMatch(/upstream prematurely closed connection|Connection reset by peer/);
  });

  it(`keepalive_timeout 1s, shorter than timeout ${TIMEOUT} ms (examples/deploy/nginx.conf's order): nginx closed the idle connection first, the same POST is answered 200`, async () => {
    const result = await postWhileNginxStalls('1s', idleTimeoutPasses);
    expect(result.upstreamStates).not.toContain('ESTABLISHED');
    expect(result.upstreamStates).not.toContain('CLOSE_WAIT');
    expect(result.status).toBe(200);
    expect(result.bodyLength).toBe(String(POST_BODY.length));
  });

  it('plain SIGTERM to the instance nginx sends to: its drain ends the idle upstream connection, nginx writes the POST on it and answers 502 (what the recipe prevents)', async () => {
    // examples/deploy/nginx.conf as it is (keepalive_timeout 20s): nginx still holds the connection.
    const result = await postWhileNginxStalls(undefined, instanceShutsDown);
    expect(result.upstreamStates).toContain('CLOSE_WAIT');
    expect(result.status).toBe(502);
    expect(result.errorLog).toMatch(/upstream prematurely closed connection|Connection reset by peer/);
  });
});
