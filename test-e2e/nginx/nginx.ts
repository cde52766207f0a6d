// A real nginx (Debian's package) in front of cluster2 instances, run as a child of the test: its
// own prefix directory, config, pid file and logs under a temporary directory, in the foreground
// (daemon off), listening on 127.0.0.1 only. The site configuration is the one users copy,
// examples/deploy/nginx.conf, with the test's addresses put in.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, tempDir, until } from '../support/fixture.js';

/** The nginx binary: NGINX_BIN, or the Debian package's. */
export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** The ready configuration in the docs, read as users read it. */
export const RECIPE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/deploy/nginx.conf');

export interface UpstreamServer {
  port: number;
  /** `down`: nginx sends this server nothing (the first step of the recipe). */
  down?: boolean;
}

/**
 * The site configuration of examples/deploy/nginx.conf with its `server` lines replaced by
 * `servers` on 127.0.0.1 and `listen 80` by `listen 127.0.0.1:<port>`. Throws when the file no
 * longer has the lines this replaces, so the test cannot silently drift from the documented file.
 */
export function siteConfig(recipe: string, port: number, servers: UpstreamServer[]): string {
  const serverLines = /^( *)server 10\.0\.0\.\d+:3000;\n(?:\1server 10\.0\.0\.\d+:3000;\n)*/m;
  const indent = serverLines.exec(recipe)?.[1];
  if (indent === undefined) throw new Error(`${RECIPE_FILE}: no "server 10.0.0.x:3000;" lines in the upstream block`);
  if (!/^ *listen 80;$/m.test(recipe)) throw new Error(`${RECIPE_FILE}: no "listen 80;" line`);
  const lines = servers.map((s) => `${indent}server 127.0.0.1:${s.port}${s.down ? ' down' : ''};\n`).join('');
  return recipe.replace(serverLines, lines).replace(/^( *)listen 80;$/m, `$1listen 127.0.0.1:${port};`);
}

/** The main nginx.conf around the site: every path inside `dir`, so no root and no /var is needed. */
export function mainConfig(dir: string, site: string): string {
  return `worker_processes 2;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
    log_format upstreams '$request_method $status upstream=$upstream_addr upstream_status=$upstream_status';
    access_log ${dir}/access.log upstreams;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${site}
}
`;
}

export interface NginxOptions {
  /** Replaces the upstream's `keepalive_timeout` of the recipe (an nginx time: `500ms`, `60s`). */
  keepaliveTimeout?: string;
}

/** One request as nginx logged it: `upstream` and `upstreamStatus` list every server tried, comma-separated. */
export interface AccessEntry {
  method: string;
  status: number;
  upstream: string;
  upstreamStatus: string;
}

export class Nginx {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly file: string;
  output = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;
  /** Every reload: when SIGHUP was sent, and when the last old worker had exited. */
  readonly reloads: { sentAt: number; goneAt: number }[] = [];
  readonly #recipe: string;

  private constructor(
    readonly port: number,
    servers: UpstreamServer[],
    readonly options: NginxOptions,
  ) {
    this.#recipe = fs.readFileSync(RECIPE_FILE, 'utf8');
    this.dir = tempDir('nginx');
    // nginx started as root runs its workers as nobody: they must reach the temp paths.
    fs.chmodSync(this.dir, 0o755);
    this.file = path.join(this.dir, 'nginx.conf');
    this.#write(servers);
    this.child = spawn(NGINX, ['-p', `${this.dir}/`, '-e', path.join(this.dir, 'error.log'), '-c', this.file, '-g', `daemon off; pid ${this.dir}/nginx.pid;`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  /** Starts nginx on `port` and waits until its workers run and the port answers. */
  static async start(port: number, servers: UpstreamServer[], options: NginxOptions = {}): Promise<Nginx> {
    const nginx = new Nginx(port, servers, options);
    await until(
      () => {
        if (nginx.exitCode !== undefined) throw new Error(`nginx exited with ${nginx.exitCode}: ${nginx.output}${nginx.errorLog()}`);
        return nginx.workers().length === 2 && fs.existsSync(path.join(nginx.dir, 'nginx.pid'));
      },
      10_000,
      'nginx to start 2 workers',
      () => nginx.output + nginx.errorLog(),
    );
    return nginx;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The pids of the master's children (its workers, old ones still finishing included). */
  workers(): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === this.pid && isAlive(Number(entry))) pids.push(Number(entry));
      } catch {
        // The process ended while /proc was read.
      }
    }
    return pids;
  }

  /**
   * `nginx -s reload` with `servers`: writes the config, sends SIGHUP to the master, and waits
   * until every worker that ran before has exited (they finish their requests in flight first)
   * and the new ones run. Resolves with how long the old workers took to go, ms.
   */
  async reload(servers: UpstreamServer[], timeout = 20_000): Promise<number> {
    const before = this.workers();
    this.#write(servers);
    const sentAt = Date.now();
    process.kill(this.pid, 'SIGHUP');
    await until(
      () => {
        const now = this.workers();
        return before.every((pid) => !now.includes(pid)) && now.length === 2;
      },
      timeout,
      'the old nginx workers to exit after a reload',
      () => this.errorLog(),
      10,
    );
    const goneAt = Date.now();
    this.reloads.push({ sentAt, goneAt });
    return goneAt - sentAt;
  }

  errorLog(): string {
    return read(path.join(this.dir, 'error.log'));
  }

  /** The access log (format `upstreams` of mainConfig), one entry per request nginx read. */
  accessLog(): AccessEntry[] {
    return read(path.join(this.dir, 'access.log'))
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [, method, status, upstream, upstreamStatus] = /^(\S+) (\d+) upstream=(.*) upstream_status=(.*)$/.exec(line) ?? [];
        return { method: method!, status: Number(status), upstream: upstream!, upstreamStatus: upstreamStatus! };
      });
  }

  /** Stops nginx by pid: the master (fast shutdown), then any worker left, and removes its directory. */
  async stop(): Promise<void> {
    const workers = this.workers();
    if (this.exitCode === undefined) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (this.exitCode === undefined) this.child.kill('SIGKILL');
    }
    for (const pid of workers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  #write(servers: UpstreamServer[]): void {
    let site = siteConfig(this.#recipe, this.port, servers);
    if (this.options.keepaliveTimeout !== undefined) {
      if (!/^ *keepalive_timeout [^;]+;$/m.test(site)) throw new Error(`${RECIPE_FILE}: no "keepalive_timeout" line in the upstream block`);
      site = site.replace(/^( *)keepalive_timeout [^;]+;$/m, `$1keepalive_timeout ${this.options.keepaliveTimeout};`);
    }
    fs.writeFileSync(this.file, mainConfig(this.dir, site));
  }
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
