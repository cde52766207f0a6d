import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupCpuLimit, defaultWorkerCount } from '../src/cpu-quota.js';
import { reportQuota } from './cpu-quota-support.js';
import { tempDir } from './helpers.js';

// Fixture trees laid out as /sys/fs/cgroup is, in the three layouts found in the wild.
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = tempDir('cgroup');
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

const V2_SELF = '0::/kubepods/pod1/app\n';
const V1_SELF = '4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/docker/abc\n';

describe('cgroupCpuLimit', () => {
  it('reads cgroup v2 cpu.max of the process cgroup, and the tightest of its parents', () => {
    const root = tree({ 'cgroup.controllers': 'cpu memory', 'kubepods/pod1/app/cpu.max': '150000 100000\n', 'kubepods/cpu.max': 'max 100000\n' });
    expect(cgroupCpuLimit({ root, selfCgroup: V2_SELF })).toBe(1.5);
    fs.writeFileSync(path.join(root, 'kubepods/cpu.max'), '50000 100000\n');
    expect(cgroupCpuLimit({ root, selfCgroup: V2_SELF })).toBe(0.5);
  });

  it('reads the namespace root when the process path does not exist under the mount (a container)', () => {
    const root = tree({ 'cgroup.controllers': 'cpu', 'cpu.max': '250000 100000' });
    expect(cgroupCpuLimit({ root, selfCgroup: V2_SELF })).toBe(2.5);
    expect(cgroupCpuLimit({ root, selfCgroup: '0::/\n' })).toBe(2.5);
  });

  it('reads cgroup v1 cpu.cfs_quota_us over cpu.cfs_period_us, and -1 as no limit', () => {
    const root = tree({
      'cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '75000\n',
      'cpu,cpuacct/docker/abc/cpu.cfs_period_us': '50000\n',
      'cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
      'cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit({ root, selfCgroup: V1_SELF })).toBe(1.5);
    fs.writeFileSync(path.join(root, 'cpu,cpuacct/docker/abc/cpu.cfs_quota_us'), '-1\n');
    expect(cgroupCpuLimit({ root, selfCgroup: V1_SELF })).toBeUndefined();
  });

  it('finds v1 under a plain cpu/ mount and v2 under unified/ (hybrid) only when unified/ has the cpu controller', () => {
    const v1 = tree({ 'cpu/cpu.cfs_quota_us': '300000', 'cpu/cpu.cfs_period_us': '100000', 'unified/cgroup.controllers': 'cpu' });
    expect(cgroupCpuLimit({ root: v1, selfCgroup: '1:cpu:/\n0::/\n' })).toBe(3);
    const hybrid = tree({ 'unified/cgroup.controllers': 'cpu io', 'unified/cpu.max': '100000 100000' });
    expect(cgroupCpuLimit({ root: hybrid, selfCgroup: '0::/\n' })).toBe(1);
    const noCpu = tree({ 'unified/cgroup.controllers': 'hugetlb', 'unified/cpu.max': '100000 100000' });
    expect(cgroupCpuLimit({ root: noCpu, selfCgroup: '0::/\n' })).toBeUndefined();
  });

  it('gives undefined for no quota, no cgroup files or malformed ones', () => {
    expect(cgroupCpuLimit({ root: tree({ 'cgroup.controllers': 'cpu', 'cpu.max': 'max 100000' }), selfCgroup: '0::/\n' })).toBeUndefined();
    expect(cgroupCpuLimit({ root: tree({}), selfCgroup: '' })).toBeUndefined();
    for (const text of ['', 'lots 100000', '100000 0', '0 100000', '-5 100000', '1.5 1']) {
      expect(cgroupCpuLimit({ root: tree({ 'cgroup.controllers': 'cpu', 'cpu.max': text }), selfCgroup: '0::/\n' })).toBeUndefined();
    }
  });
});

describe('default noWorkers', () => {
  const cpus = os.availableParallelism();

  it('rounds a quota up, keeps at least 1, and never exceeds os.availableParallelism()', () => {
    const at = (cpuMax: string) => defaultWorkerCount({ root: tree({ 'cgroup.controllers': 'cpu', 'cpu.max': cpuMax }), selfCgroup: '0::/\n' });
    expect(at('10000 100000')).toBe(1);
    expect(at('100000 100000')).toBe(1);
    expect(at('100001 100000')).toBe(Math.min(cpus, 2));
    expect(at(`${cpus * 100000 + 1} 100000`)).toBe(cpus);
    expect(at('max 100000')).toBe(cpus);
  });

  it('follows CLUSTER2_CGROUP_ROOT in a real process: a 0.5-CPU v2 quota gives 1 worker, none gives availableParallelism', async () => {
    const half = tree({ 'cgroup.controllers': 'cpu', 'cpu.max': '50000 100000' });
    const report = await reportQuota({ CLUSTER2_CGROUP_ROOT: half });
    expect(report.noWorkers).toBe(1);
    const unlimited = tree({ 'cgroup.controllers': 'cpu', 'cpu.max': 'max 100000' });
    expect((await reportQuota({ CLUSTER2_CGROUP_ROOT: unlimited })).noWorkers).toBe(report.availableParallelism);
  });

  it('follows a v1 quota through CLUSTER2_CGROUP_ROOT in a real process, and an explicit noWorkers wins', async () => {
    const v1 = tree({ 'cpu/cpu.cfs_quota_us': '20000', 'cpu/cpu.cfs_period_us': '100000' });
    expect((await reportQuota({ CLUSTER2_CGROUP_ROOT: v1 })).noWorkers).toBe(1);
    const { resolveOptions } = await import('../src/options.js');
    process.env.CLUSTER2_CGROUP_ROOT = v1;
    try {
      expect(resolveOptions({ noWorkers: 3 }).noWorkers).toBe(3);
      expect(resolveOptions({}).noWorkers).toBe(1);
    } finally {
      delete process.env.CLUSTER2_CGROUP_ROOT;
    }
  });
});
