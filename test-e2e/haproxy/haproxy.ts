// A real HAProxy (Debian's 2.6) in front of cluster2 instances: a generated config, the process
// in the foreground (-db) as a child of the test, and the server states read from its CSV stats.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tempDir, until } from '../support/fixture.js';

export const HAPROXY = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface BackendServer {
  name: string;
  port: number;
}

export interface HAProxyOptions {
  servers: BackendServer[];
  /** Health check interval, ms. */
  inter: number;
  /** Consecutive failed checks before a server is marked DOWN. */
  fall: number;
  /** Consecutive good checks before it is UP again. */
  rise: number;
  /**
   * How long one check may take (`timeout check`), ms. @default 1000. Raise it where the test is
   * not about how fast a server is taken out: on starved CPUs a healthy server's ECV answer can
   * take longer, and FALL such checks mark it DOWN (503 for everyone behind a single server).
   */
  checkTimeout?: number;
  /** `http-check disable-on-404`: a 404 puts a server in NOLB (soft drain) instead of DOWN. */
  disableOn404?: boolean;
  /**
   * For connection-level sticky sessions behind HAProxy (`sticky: { header: 'x-forwarded-for' }`):
   * `option forwardfor` marks each request with its client's address, and `http-reuse never`
   * keeps a server connection to the one client that opened it (a connection shared by several
   * clients would take them all to one worker).
   */
  forwardFor?: boolean;
}

/**
 * The backend an operator writes for cluster2 (the snippet in docs/load-balancers.md), plus what the test needs
 * around it: a stats listener, logs of abnormal requests only. `retries 0` and no
 * `option redispatch` / `retry-on`: a request that fails on a server is a failure the client sees.
 */
export function haproxyConfig(options: HAProxyOptions, port: number, statsPort: number): string {
  return `global
    maxconn 4096
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    retries 0
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check ${options.checkTimeout ?? 1000}ms
    timeout http-keep-alive 10s

frontend fe
    bind 127.0.0.1:${port}
    # HAProxy reaches the backends from loopback, where cluster2 allows ECV control without a
    # token: clients must not reach the ECV routes through the proxy.
    http-request deny deny_status 403 if { path /ecv /ecv/live /ecv/enable /ecv/disable }
    default_backend app

listen stats
    bind 127.0.0.1:${statsPort}
    stats enable
    stats uri /stats

backend app
    balance roundrobin
    option httpchk GET /ecv
    http-check expect status 200
${options.disableOn404 ? '    http-check disable-on-404\n' : ''}${options.forwardFor ? '    option forwardfor\n    http-reuse never\n' : ''}    default-server inter ${options.inter} fall ${options.fall} rise ${options.rise}
${options.servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port} check`).join('\n')}
`;
}

/** One row of `show stat` for a server: the fields the tests read. */
export interface ServerStat {
  status: string;
  checkStatus: string;
  /** Requests sent to the server. */
  stot: number;
  /** Connection errors, response errors. */
  econ: number;
  eresp: number;
  /** Server-side connections HAProxy opened, and requests it sent over an idle one it kept (http-reuse). */
  connect: number;
  reuse: number;
}

export class HAProxy {
  readonly child: ChildProcess;
  readonly config: string;
  output = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;

  private constructor(
    readonly port: number,
    readonly statsPort: number,
    options: HAProxyOptions,
  ) {
    this.config = haproxyConfig(options, port, statsPort);
    const dir = tempDir('haproxy');
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, this.config);
    this.child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    });
  }

  /** Starts HAProxy and waits until every server is UP with a passed L7 check. */
  static async start(options: HAProxyOptions): Promise<HAProxy> {
    const haproxy = new HAProxy(await freePort(), await freePort(), options);
    await until(
      async () => {
        if (haproxy.exitCode !== undefined) throw new Error(`haproxy exited with ${haproxy.exitCode}: ${haproxy.output}`);
        const stats = await haproxy.stats().catch(() => undefined);
        return stats !== undefined && options.servers.every((s) => stats[s.name]?.status === 'UP' && stats[s.name]?.checkStatus === 'L7OK');
      },
      10_000,
      'haproxy to see every server UP',
      () => haproxy.output,
    );
    return haproxy;
  }

  /** The backend's servers as HAProxy sees them now. */
  async stats(): Promise<Record<string, ServerStat>> {
    const csv = await get(this.statsPort, '/stats;csv');
    const [header, ...rows] = csv.trim().split('\n');
    const columns = header!.replace(/^# /, '').split(',');
    const at = (name: string) => columns.indexOf(name);
    const result: Record<string, ServerStat> = {};
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[at('pxname')] !== 'app' || ['FRONTEND', 'BACKEND'].includes(cells[at('svname')]!)) continue;
      result[cells[at('svname')]!] = {
        status: cells[at('status')]!,
        checkStatus: cells[at('check_status')]!,
        stot: Number(cells[at('stot')]),
        econ: Number(cells[at('econ')] || 0),
        eresp: Number(cells[at('eresp')] || 0),
        connect: Number(cells[at('connect')] || 0),
        reuse: Number(cells[at('reuse')] || 0),
      };
    }
    return result;
  }

  /**
   * Polls the stats until `server` shows `status` (exactly: 'DOWN', 'NOLB', 'UP'); resolves with
   * the time the answer that showed it arrived (every request sent after that sees it too).
   */
  async waitForStatus(server: string, status: string, timeout = 10_000): Promise<number> {
    let seenAt = 0;
    await until(
      async () => {
        const stats = await this.stats();
        seenAt = Date.now();
        return stats[server]?.status === status;
      },
      timeout,
      `haproxy to mark ${server} ${status}`,
      () => this.output,
      10,
    );
    return seenAt;
  }

  /** Ends HAProxy (by pid) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exited;
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

function get(port: number, pathname: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`stats answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('stats request timed out')));
  });
}
