// PM2 as a contender: a private PM2_HOME per use, the CLI through node, `pm2 kill` afterwards.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { appPath, isAlive, startScript } from './proc.mjs';

const require = createRequire(import.meta.url);

/** Path to pm2's CLI script, or undefined when pm2 is not installed. */
export function pm2Bin() {
  try {
    return path.join(path.dirname(require.resolve('pm2/package.json')), 'bin', 'pm2');
  } catch {
    return undefined;
  }
}

/** Path to pm2-runtime (PM2 in the foreground, for containers), or undefined when pm2 is not installed. */
export function pm2RuntimeBin() {
  const bin = pm2Bin();
  return bin && path.join(path.dirname(bin), 'pm2-runtime');
}

export function pm2Version() {
  try {
    return require('pm2/package.json').version;
  } catch {
    return undefined;
  }
}

/**
 * A PM2 daemon of our own: `start()` runs `pm2 start <app> -i <instances>` with `env`, and
 * `close()` runs `pm2 kill`, then kills the daemon by pid if it is still there, and removes PM2_HOME.
 */
export class Pm2 {
  constructor() {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-bench-pm2-'));
    this.env = { ...process.env, PM2_HOME: this.home, PM2_DISABLE_VERSION_CHECK: 'true' };
  }

  cli(args, extraEnv = {}, timeoutMs = 60_000) {
    const bin = pm2Bin();
    if (!bin) return Promise.reject(new Error('pm2 is not installed (bench devDependency)'));
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [bin, ...args], { env: { ...this.env, ...extraEnv }, timeout: timeoutMs }, (error, stdout, stderr) => {
        if (error) reject(new Error(`pm2 ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  async start(app, instances, env = {}) {
    const extra = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
    await this.cli(['start', appPath(app), '-i', String(instances), '--name', 'bench'], extra);
  }

  /** The God daemon's pid. */
  godPid() {
    return Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8').trim());
  }

  /** Pids of the app's instances as PM2 lists them. */
  async workerPids() {
    const list = JSON.parse(await this.cli(['jlist']));
    return list.map((p) => p.pid).filter(Boolean);
  }

  reload() {
    return this.cli(['reload', 'bench']);
  }

  async close() {
    let god;
    try {
      god = this.godPid();
    } catch {}
    try {
      await this.cli(['kill'], {}, 30_000);
    } catch {}
    if (god && isAlive(god)) {
      try {
        process.kill(god, 'SIGKILL');
      } catch {}
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Starts PM2 with `app`, runs `fn(pm2)`, and always kills the daemon afterwards. */
export async function withPm2(app, instances, env, fn) {
  const pm2 = new Pm2();
  try {
    await pm2.start(app, instances, env);
    return await fn(pm2);
  } finally {
    await pm2.close();
  }
}

/**
 * `pm2-runtime start <app> -i <instances>` in the foreground, in its own process group and with a
 * private PM2_HOME: the handle of proc.mjs's startScript, whose `stop()` also removes PM2_HOME.
 */
export function startPm2Runtime(app, instances, env = {}) {
  const bin = pm2RuntimeBin();
  if (!bin) throw new Error('pm2 is not installed (bench devDependency)');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-bench-pm2-runtime-'));
  const handle = startScript(
    bin,
    { ...env, PM2_HOME: home, PM2_DISABLE_VERSION_CHECK: 'true' },
    { args: ['start', appPath(app), '-i', String(instances)], label: 'pm2-runtime' },
  );
  const stop = handle.stop;
  handle.stop = async (signal, graceMs) => {
    try {
      return await stop(signal, graceMs);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  };
  return handle;
}
