import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportQuota } from './cpu-quota-support.js';

// A real cgroup with a CPU quota, created by the test (root only), with the fixture started inside
// it: no CLUSTER2_CGROUP_ROOT, cluster2 reads /sys/fs/cgroup as in production. Each layout runs
// where the host allows it; otherwise the test is skipped and says why.
const CGROUP = '/sys/fs/cgroup';
const PERIOD = 100_000;
const cpus = os.availableParallelism();
// A quota whose round-up is one worker fewer than the machine's CPUs: 0.5 CPU on 2 cores.
const quota = Math.round((cpus - 1.5) * PERIOD);
const expected = cpus - 1;

function mounts(): string[][] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
}

function words(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

/** Where a v2 child cgroup with a cpu.max can be made, or why it cannot. */
function v2Parent(): { dir: string } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'needs root to create a cgroup' };
  if (cpus < 2) return { reason: 'one CPU: no quota can lower the default below 1' };
  const mount = mounts().find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup2')?.[4];
  if (mount === undefined) return { reason: 'no cgroup2 hierarchy is mounted' };
  if (mount !== CGROUP && mount !== `${CGROUP}/unified`) return { reason: `cgroup2 is mounted on ${mount}, not where cluster2 reads it` };
  if (!words(path.join(mount, 'cgroup.controllers')).includes('cpu')) {
    return {
      reason: `the cpu controller is not available in cgroup v2 (${mount}/cgroup.controllers: "${words(path.join(mount, 'cgroup.controllers')).join(' ')}"; it is bound to a cgroup v1 hierarchy here)`,
    };
  }
  const self = fs.readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)?.[1] ?? '/';
  // The child goes next to this process: its parent must delegate the cpu controller.
  const parent = path.join(mount, self);
  if (!words(path.join(parent, 'cgroup.subtree_control')).includes('cpu')) {
    try {
      fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+cpu');
    } catch (error) {
      return { reason: `cannot enable the cpu controller in ${parent}/cgroup.subtree_control: ${(error as Error).message}` };
    }
  }
  return { dir: parent };
}

/** Where a v1 child cgroup with a CFS quota can be made, or why it cannot. */
function v1Parent(): { dir: string } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'needs root to create a cgroup' };
  if (cpus < 2) return { reason: 'one CPU: no quota can lower the default below 1' };
  const mount = ['cpu,cpuacct', 'cpu', 'cpuacct,cpu'].map((name) => path.join(CGROUP, name)).find((dir) => fs.existsSync(path.join(dir, 'cpu.cfs_quota_us')));
  if (mount === undefined) return { reason: `no cgroup v1 cpu hierarchy under ${CGROUP} (the host uses cgroup v2 for cpu)` };
  try {
    fs.accessSync(mount, fs.constants.W_OK);
  } catch (error) {
    return { reason: `${mount} is not writable: ${(error as Error).message}` };
  }
  return { dir: mount };
}

async function inCgroup(parent: string, limit: (dir: string) => void): Promise<Awaited<ReturnType<typeof reportQuota>>> {
  const dir = path.join(parent, `cluster2-test-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir);
  try {
    limit(dir);
    // The shell moves itself into the cgroup, then execs node: Node starts inside it.
    return await reportQuota({}, `echo $$ > '${path.join(dir, 'cgroup.procs')}'`);
  } finally {
    // The fixture has exited (reportQuota waited for it), so the cgroup is empty and can go.
    fs.rmdirSync(dir);
  }
}

describe('default noWorkers in a real cgroup', () => {
  const v2 = v2Parent();
  it.skipIf('reason' in v2)(
    `cgroup v2: a cpu.max of ${quota} ${PERIOD} gives ${expected} worker(s)${'reason' in v2 ? ` (skipped: ${v2.reason})` : ''}`,
    async () => {
      const report = await inCgroup((v2 as { dir: string }).dir, (dir) => fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD}`));
      console.log(`cpu-quota v2: ${JSON.stringify(report)} on Node ${process.version}`);
      expect(report.cgroup.join('\n')).toContain('cluster2-test-');
      expect(report.noWorkers).toBe(expected);
    },
  );

  const v1 = v1Parent();
  it.skipIf('reason' in v1)(
    `cgroup v1: cfs_quota_us ${quota} over ${PERIOD} gives ${expected} worker(s)${'reason' in v1 ? ` (skipped: ${v1.reason})` : ''}`,
    async () => {
      const report = await inCgroup((v1 as { dir: string }).dir, (dir) => {
        fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD));
        fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
      });
      console.log(`cpu-quota v1: ${JSON.stringify(report)} on Node ${process.version}`);
      expect(report.cgroup.join('\n')).toMatch(/cpu[^:]*:\/cluster2-test-/);
      expect(report.noWorkers).toBe(expected);
    },
  );
});
