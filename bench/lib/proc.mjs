// Child processes under test: spawn, read their JSON-line reports, stop and kill by pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const appPath = (name) => path.join(BENCH_DIR, 'apps', name);

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Spawns `node <app>` in its own process group (so its workers can be killed with it) with
 * `env` added to ours (`nodeArgs` go to node itself, and node:cluster passes them on to workers). Each stdout line that is JSON becomes a message; `waitFor(pred)` resolves
 * with the first message (past or future) that matches. With `stdoutFile`, the app's stdout is
 * that file (appended to) and its reports come through fd 3 instead (see servers.mjs report()).
 */
export function startApp(app, env = {}, { args = [], nodeArgs = [], stdoutFile } = {}) {
  return startScript(appPath(app), env, { args, nodeArgs, label: app, stdoutFile });
}

/**
 * `startApp` for any script (a CLI such as cluster2's or pm2-runtime): a stdout line that is not
 * JSON becomes the message `{ line }`, so `waitFor` can also wait for a human-readable line.
 */
export function startScript(script, env = {}, { args = [], nodeArgs = [], label = path.basename(script), stdoutFile } = {}) {
  const app = label;
  // A file rather than a pipe when the app's own output is what is measured: the harness reading
  // a pipe would be a destination that costs the app nothing.
  const outFd = stdoutFile === undefined ? undefined : fs.openSync(stdoutFile, 'a');
  let child;
  try {
    child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env: { ...process.env, ...stringify(env), ...(outFd === undefined ? {} : { BENCH_REPORT_FD: '3' }) },
      stdio: outFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', outFd, 'pipe', 'pipe'],
      detached: true,
    });
  } finally {
    if (outFd !== undefined) fs.closeSync(outFd);
  }
  const reports = outFd === undefined ? child.stdout : child.stdio[3];
  const messages = [];
  const waiters = [];
  let stderr = '';
  let exitInfo;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal, at: performance.now() };
      for (const w of waiters.splice(0)) w.reject(new Error(`${app} exited (code ${code}, signal ${signal}) before ${w.what}\n${stderr.slice(-2000)}`));
      resolve(exitInfo);
    });
  });
  let buffered = '';
  reports.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        message = { line };
      }
      if (typeof message !== 'object' || message === null) message = { line };
      message.receivedAt = performance.now();
      messages.push(message);
      for (const w of [...waiters]) {
        if (w.pred(message)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(message);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });

  const handle = {
    app,
    pid: child.pid,
    child,
    messages,
    exited,
    get stderr() {
      return stderr;
    },
    /** First message matching `pred`, already received or still to come. */
    waitFor(pred, { timeoutMs = 60_000, what = 'the expected report' } = {}) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      if (exitInfo) return Promise.reject(new Error(`${app} already exited before ${what}\n${stderr.slice(-2000)}`));
      return new Promise((resolve, reject) => {
        const waiter = { pred, what, resolve, reject };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${app}\n${stderr.slice(-2000)}`));
        }, timeoutMs);
        waiter.resolve = (m) => (clearTimeout(timer), resolve(m));
        waiter.reject = (e) => (clearTimeout(timer), reject(e));
        waiters.push(waiter);
      });
    },
    ready(timeoutMs = 60_000) {
      return handle.waitFor((m) => m.ready, { timeoutMs, what: 'ready' });
    },
    /** Asks politely (SIGTERM by default), then kills the whole process group after `graceMs`. */
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!exitInfo) {
        try {
          process.kill(child.pid, signal);
        } catch {}
        const timer = setTimeout(() => handle.kill(), graceMs);
        await exited;
        clearTimeout(timer);
      }
      handle.kill();
      return exitInfo;
    },
    /** SIGKILL to the process group: the app and any worker still in it. */
    kill() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    },
  };
  return handle;
}

function stringify(env) {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** Starts `app`, runs `fn(handle)`, and always stops it (then kills its group) afterwards. */
export async function withApp(app, env, fn, { ready = true, stopSignal = 'SIGTERM' } = {}) {
  const handle = startApp(app, env);
  try {
    if (ready) await handle.ready();
    return await fn(handle);
  } finally {
    await handle.stop(stopSignal, 10_000);
  }
}
