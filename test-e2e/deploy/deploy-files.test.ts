// The deployment files users copy from examples/deploy/ (docs/deployment.md): each one parsed and
// checked for what makes a shutdown or a probe go wrong, with the values read from the file
// itself; the Kubernetes probes are then sent to a running cluster2 configured as the manifest says.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEFAULTS } from '@cluster2/core';
import { Instance } from '../haproxy/instance.js';
import { request, tempDir, until } from '../support/fixture.js';
import { DEPLOY_DIR, deployFile, parseDockerfile, parseStartFlags, parseUnit, splitCommand, timeSpanSeconds, type StartFlags } from './files.js';

const systemdAnalyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((file) => fs.existsSync(file));

/** The seconds a graceful shutdown may take at most with these flags. */
function shutdownSeconds(flags: StartFlags): number {
  return (flags.shutdownDelay + flags.shutdownTimeout) / 1000;
}

describe('examples/deploy/cluster2.service (systemd)', () => {
  const unit = parseUnit(deployFile('cluster2.service'));
  const service = unit.Service!;
  const execStart = splitCommand(service.ExecStart![0]!);
  const flags = parseStartFlags(execStart.slice(1));

  it('runs `cluster2 start <entry>` as Type=simple (no sd_notify), stops with SIGTERM to the master only (KillMode=mixed), restarts on failure', () => {
    expect(service.ExecStart).toHaveLength(1);
    expect(path.basename(execStart[0]!)).toBe('cluster2');
    expect(flags.entry).toMatch(/\.(js|mjs|cjs)$/);
    expect(service.Type).toEqual(['simple']);
    expect(service.KillSignal).toEqual(['SIGTERM']);
    expect(service.KillMode).toEqual(['mixed']);
    expect(service.Restart).toEqual(['on-failure']);
    expect(service.ExecReload).toEqual(['/bin/kill -USR2 $MAINPID']);
    expect(service.User?.[0]).not.toMatch(/^(root|0)$/);
  });

  it('TimeoutStopSec exceeds shutdown-delay + shutdown-timeout of its ExecStart, so systemd never SIGKILLs a drain', () => {
    const stopSeconds = timeSpanSeconds(service.TimeoutStopSec![0]!);
    expect(stopSeconds).toBeGreaterThan(shutdownSeconds(flags));
    // The pid files go where systemd creates a directory the service user owns.
    expect(flags.pids).toBe(`/run/${service.RuntimeDirectory![0]}`);
  });

  it.skipIf(!systemdAnalyze)(
    systemdAnalyze
      ? 'systemd-analyze verify accepts the unit'
      : 'skipped: systemd-analyze is not installed (systemd), so the unit is not verified by systemd itself',
    () => {
      // The app is not installed here: the copy's ExecStart names an executable that exists, the rest is verbatim.
      const dir = tempDir('unit');
      try {
        const file = path.join(dir, 'app.service');
        fs.writeFileSync(file, deployFile('cluster2.service').replace(execStart[0]!, process.execPath));
        // It exits 0 on a directive it ignores and says why on stderr: any output is a finding.
        const result = spawnSync(systemdAnalyze!, ['verify', '--man=no', file], { encoding: 'utf8' });
        expect(`${result.stdout}${result.stderr}`).toBe('');
        expect(result.status).toBe(0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('examples/deploy/Dockerfile', () => {
  const instructions = parseDockerfile(deployFile('Dockerfile'));
  const last = (keyword: string) => instructions.filter((i) => i.keyword === keyword).at(-1);

  it('builds on node:24-slim, runs as a non-root user and stops with SIGTERM', () => {
    expect(last('FROM')?.args).toBe('node:24-slim');
    expect(last('STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(last('USER')?.args).toBeDefined();
    expect(last('USER')!.args.split(':')[0]).not.toMatch(/^(root|0)$/);
    // USER comes before CMD takes effect: nothing after it switches back.
    expect(instructions.findIndex((i) => i.keyword === 'USER')).toBeLessThan(instructions.findIndex((i) => i.keyword === 'CMD'));
  });

  it('CMD is exec form starting cluster2 itself (the master is PID 1 and gets SIGTERM; no shell, no npm in between), with a pids setting that works in a read-only /app', () => {
    const cmd = JSON.parse(last('CMD')!.args) as unknown;
    expect(Array.isArray(cmd)).toBe(true);
    const [binary, ...args] = cmd as string[];
    expect(path.basename(binary!)).toBe('cluster2');
    const flags = parseStartFlags(args);
    expect(flags.pids === false || flags.pids.startsWith('/tmp/')).toBe(true);
    expect(flags.ecv).toBe(true);
    // The port the image documents is the one the app is told to listen on.
    expect(flags.env.PORT).toBeDefined();
    expect(last('EXPOSE')?.args).toBe(String(flags.port));
  });
});

/** Can this process make a pid namespace (root, or unprivileged user namespaces)? */
const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
const PID1_FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pid1.mjs');

/** Pids and states (R, S, Z, …) of the processes whose parent is `pid`, with their command names. */
function childrenOf(pid: number): { pid: number; state: string; comm: string }[] {
  const children = [];
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) children.push({ pid: Number(entry), state: state!, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // Gone while /proc was read.
    }
  }
  return children;
}

describe('the master as PID 1 (examples/deploy/Dockerfile runs cluster2 with no init)', () => {
  let unshare: ChildProcess | undefined;
  let masterPid: number | undefined;
  afterEach(() => {
    // SIGKILL to a namespace's PID 1 ends every process in it.
    for (const pid of [masterPid, unshare?.pid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {}
    }
    unshare = masterPid = undefined;
  });

  it.skipIf(!canUnshare)(
    canUnshare
      ? "as PID 1 of a pid namespace the master shuts down gracefully on SIGTERM and exits 0; orphans of the app's own subprocesses stay zombies (what --init is for)"
      : 'skipped: cannot create a pid namespace here (unshare --pid needs root or user namespaces)',
    async () => {
      const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, PID1_FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
      unshare = child;
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await until(
        () => /^ready \d+ \d+$/m.test(output),
        20_000,
        'the PID 1 master to be ready',
        () => output,
      );
      const [, port, nsPid] = /^ready (\d+) (\d+)$/m.exec(output)!;
      // The master sees itself as PID 1.
      expect(nsPid).toBe('1');
      masterPid = childrenOf(child.pid!)[0]!.pid;

      expect((await request(Number(port), '/ecv')).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await request(Number(port), '/orphan')).status).toBe(200);
      // The backgrounded sleeps were re-parented to PID 1, the master, which reaps only its own children.
      await until(
        () => childrenOf(masterPid!).some((c) => c.comm === 'sleep' && c.state === 'Z'),
        10_000,
        'orphaned sleeps to end as zombies under the master',
        () => JSON.stringify(childrenOf(masterPid!)),
      );
      // Its workers are reaped: none is a zombie.
      expect(childrenOf(masterPid).filter((c) => c.comm !== 'sleep' && c.state === 'Z')).toEqual([]);

      const termAt = Date.now();
      process.kill(masterPid, 'SIGTERM');
      // PID 1 gets no default action for SIGTERM: only a handler makes it act, and the master has one.
      expect(await exited).toBe(0);
      // A graceful shutdown: it kept serving for shutdownDelay (300 ms) first.
      expect(Date.now() - termAt).toBeGreaterThanOrEqual(300);
    },
  );
});

describe('examples/deploy/k8s.yaml (Kubernetes)', () => {
  const deployment = documents().find((d) => d.kind === 'Deployment')!;
  const service = documents().find((d) => d.kind === 'Service')!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const flags = parseStartFlags(container.args as string[]);

  it('runs `cluster2 start <entry>` with ECV on the app port (PORT), a disabled status the readiness probe counts as failed', () => {
    expect(path.basename(container.command[0] as string)).toBe('cluster2');
    expect(flags.ecv).toBe(true);
    expect(flags.pids).toBe(false);
    expect(flags.env.PORT).toBeDefined();
    // Kubernetes counts 200–399 as ready.
    expect(flags.ecvDisabledStatus).toBeGreaterThanOrEqual(400);
    expect(container.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([flags.port]);
    expect(service.spec.ports[0].targetPort).toBe(flags.port);
  });

  it("probes hit cluster2's ECV routes on the app port: readiness on the ECV path, liveness on its /live route", () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: flags.ecvPath, port: flags.port });
    expect(container.livenessProbe.httpGet).toEqual({ path: `${flags.ecvPath}/live`, port: flags.port });
    // Readiness must notice within shutdown-delay: it keeps serving while the endpoint goes.
    const noticeSeconds = container.readinessProbe.periodSeconds * container.readinessProbe.failureThreshold;
    expect(noticeSeconds * 1000).toBeLessThan(flags.shutdownDelay);
  });

  it('terminationGracePeriodSeconds ≥ (shutdown-delay + shutdown-timeout) / 1000 from the container args', () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(shutdownSeconds(flags));
    // No preStop sleep: shutdown-delay does its job, and the grace period counts from preStop.
    expect(container.lifecycle?.preStop).toBeUndefined();
    // A CPU limit, which sets the default worker count; no --workers to override it.
    expect(container.resources.limits.cpu).toBeDefined();
    expect(container.args).not.toContain('--workers');
  });

  const running: Instance[] = [];
  afterEach(() => {
    for (const instance of running.splice(0)) instance.kill();
  });

  it("a cluster2 configured as the manifest says answers the probes' paths: both 200 while serving; after SIGTERM readiness fails with the disabled status while liveness stays 200 and the app still serves", async () => {
    const instance = new Instance('K', {
      port: 0,
      ecv: { path: flags.ecvPath, disabledStatus: flags.ecvDisabledStatus },
      shutdownDelay: flags.shutdownDelay,
      shutdownTimeout: flags.shutdownTimeout,
    });
    running.push(instance);
    await instance.ready();
    const readiness = container.readinessProbe.httpGet.path as string;
    const liveness = container.livenessProbe.httpGet.path as string;
    expect((await instance.request(readiness)).status).toBe(200);
    expect((await instance.request(liveness)).status).toBe(200);

    // What Kubernetes does on a pod deletion.
    const termAt = Date.now();
    process.kill(instance.pid, 'SIGTERM');
    await until(async () => (await instance.request(readiness)).status === flags.ecvDisabledStatus, 5000, `readiness to answer ${flags.ecvDisabledStatus}`);
    const failedAt = Date.now();
    expect((await instance.request(liveness)).status).toBe(200);
    expect((await instance.request('/')).status).toBe(200);
    // Still inside shutdown-delay: the pod serves while its endpoint is removed.
    expect(instance.running).toBe(true);
    expect(failedAt - termAt).toBeLessThan(flags.shutdownDelay);
  });
});

describe('examples/deploy/nginx.conf (upstream keep-alive)', () => {
  const conf = deployFile('nginx.conf');
  const directive = (name: string) => [...conf.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, 'gm'))].map((m) => m[1]!.trim());

  it("keeps upstream connections alive over HTTP/1.1 and closes idle ones before cluster2's idle timeout does", () => {
    expect(Number(directive('keepalive')[0])).toBeGreaterThan(0);
    expect(directive('proxy_http_version')).toEqual(['1.1']);
    expect(directive('proxy_set_header').filter((v) => /^Connection\s+""$/.test(v))).toHaveLength(1);
    // nginx must never reuse a connection the worker is closing: its keepalive_timeout is shorter
    // than cluster2's `timeout` (the default, which the docs' configuration assumes).
    const [keepaliveTimeout] = directive('keepalive_timeout');
    expect(timeSpanSeconds(keepaliveTimeout!) * 1000).toBeLessThan(DEFAULTS.timeout);
    // Retries only where they are safe: not non_idempotent.
    expect(directive('proxy_next_upstream')).toEqual(['error timeout']);
  });
});

describe('docs/deployment.md quotes the files as they are', () => {
  const docs = fs.readFileSync(path.join(DEPLOY_DIR, '../../docs/deployment.md'), 'utf8');
  const block = (info: string) => {
    const match = new RegExp('```' + info + '\\n([\\s\\S]*?)\\n```').exec(docs);
    if (!match) throw new Error(`docs/deployment.md has no \`\`\`${info} block`);
    return match[1]!;
  };
  /** The lines of a file that are not comments or blank, trimmed. */
  const lines = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));

  it.each([
    ['ini', 'cluster2.service'],
    ['dockerfile', 'Dockerfile'],
    ['nginx', 'nginx.conf'],
  ])('every line of the ```%s block is a line of examples/deploy/%s', (info, file) => {
    const fileLines = new Set(lines(deployFile(file)));
    expect(lines(block(info)).filter((line) => !fileLines.has(line))).toEqual([]);
  });

  it("the ```yaml block's pod spec is the manifest's", () => {
    const quoted = parseAllDocuments(block('yaml'))[0]!.toJS() as Record<string, any>;
    const pod = (documents().find((d) => d.kind === 'Deployment')!.spec as Record<string, any>).template.spec;
    expect(quoted.spec.terminationGracePeriodSeconds).toBe(pod.terminationGracePeriodSeconds);
    expect(quoted.spec.containers).toEqual(pod.containers);
  });
});

/** The manifests in examples/deploy/k8s.yaml, as plain objects. */
function documents(): Record<string, any>[] {
  return parseAllDocuments(deployFile('k8s.yaml')).map((d) => d.toJS() as Record<string, any>);
}
