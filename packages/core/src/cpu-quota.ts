import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the cgroup hierarchies are mounted. `CLUSTER2_CGROUP_ROOT` replaces it for tests only (a
 * directory of fixture files laid out as /sys/fs/cgroup is); it is not an option for users.
 */
const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** Where to read the CPU quota from: the hierarchies' mount root and this process's `/proc/self/cgroup`. */
export interface CgroupSources {
  /** @default process.env.CLUSTER2_CGROUP_ROOT ?? '/sys/fs/cgroup' */
  root?: string;
  /** The text of `/proc/self/cgroup`. @default read from /proc/self/cgroup */
  selfCgroup?: string;
}

/**
 * The default `noWorkers`: `os.availableParallelism()`, lowered to the container's CPU quota
 * (rounded up, at least 1) when the quota is below it. A pod limited to `cpu: 1.5` on a 16-core
 * node gets 2 workers, not 16 workers throttled by the kernel.
 */
export function defaultWorkerCount(sources: CgroupSources = {}): number {
  const parallelism = os.availableParallelism();
  const quota = cgroupCpuLimit(sources);
  if (quota === undefined) return parallelism;
  return Math.max(1, Math.min(parallelism, Math.ceil(quota)));
}

/**
 * The CPUs this process's cgroup may use, as a fraction (`cpu.max` 150000 100000 → 1.5), or
 * undefined when no quota is set or none can be read. cgroup v2 reads `cpu.max`, v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`; the tightest quota on the way from the process's own
 * cgroup up to the root wins, since the kernel enforces every one of them. Never throws.
 */
export function cgroupCpuLimit(sources: CgroupSources = {}): number | undefined {
  const root = sources.root ?? process.env.CLUSTER2_CGROUP_ROOT ?? DEFAULT_CGROUP_ROOT;
  const selfCgroup = sources.selfCgroup ?? readText('/proc/self/cgroup') ?? '';
  const hierarchy = findCpuHierarchy(root, selfCgroup);
  if (hierarchy === undefined) return undefined;
  let limit: number | undefined;
  for (const dir of ancestors(hierarchy.mount, hierarchy.cgroupPath)) {
    const quota = hierarchy.version === 2 ? readCpuMax(dir) : readCfsQuota(dir);
    if (quota !== undefined && (limit === undefined || quota < limit)) limit = quota;
  }
  return limit;
}

interface CpuHierarchy {
  version: 1 | 2;
  /** The directory the hierarchy is mounted on. */
  mount: string;
  /** This process's cgroup inside it, from /proc/self/cgroup (`/` inside a cgroup namespace). */
  cgroupPath: string;
}

/**
 * The hierarchy that holds the cpu controller, in the layouts systemd, Docker and Kubernetes use:
 * unified (cgroup v2 on the root), hybrid (v1 controllers plus v2 on `unified/`) or legacy v1.
 */
function findCpuHierarchy(root: string, selfCgroup: string): CpuHierarchy | undefined {
  const lines = selfCgroup.split('\n').map((line) => line.split(':'));
  const v2Path =
    lines
      .find((fields) => fields.length >= 3 && fields[0] === '0' && fields[1] === '')
      ?.slice(2)
      .join(':') ?? '/';
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) return { version: 2, mount: root, cgroupPath: v2Path };
  const v1 = lines.find((fields) => fields.length >= 3 && fields[1]!.split(',').includes('cpu'));
  for (const name of ['cpu,cpuacct', 'cpu', 'cpuacct,cpu']) {
    const mount = path.join(root, name);
    if (fs.existsSync(path.join(mount, 'cpu.cfs_quota_us'))) return { version: 1, mount, cgroupPath: v1?.slice(2).join(':') ?? '/' };
  }
  const unified = path.join(root, 'unified');
  const controllers = readText(path.join(unified, 'cgroup.controllers'));
  if (controllers?.split(/\s+/).includes('cpu')) return { version: 2, mount: unified, cgroupPath: v2Path };
  return undefined;
}

/**
 * The process's cgroup directory and each parent up to the mount, those that exist: inside a
 * container without a cgroup namespace /proc/self/cgroup names the host's path (`/docker/<id>`)
 * while the container sees its own cgroup mounted as the root.
 */
function ancestors(mount: string, cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter((part) => part !== '' && part !== '..');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) {
    const dir = path.join(mount, ...parts.slice(0, n));
    if (fs.existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

/** cgroup v2 `cpu.max`: `"<quota> <period>"` in µs, or `"max <period>"` for no limit. */
function readCpuMax(dir: string): number | undefined {
  const [quota, period] = (readText(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
  return ratio(quota, period);
}

/** cgroup v1: `cpu.cfs_quota_us` (-1 for no limit) over `cpu.cfs_period_us`. */
function readCfsQuota(dir: string): number | undefined {
  return ratio(readText(path.join(dir, 'cpu.cfs_quota_us'))?.trim(), readText(path.join(dir, 'cpu.cfs_period_us'))?.trim());
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
