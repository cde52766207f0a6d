// Per-process CPU and memory from /proc (Linux): utime+stime of every thread, and VmRSS.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time (user + system, all threads) the process has used so far, ms. */
export function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** Resident set size, MiB. */
export function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * CPU the process uses while `during` runs (or for `ms` when `during` is a number):
 * `{ cpuMs, wallMs, percent, msPerSecond }`. The clock-tick resolution is 10 ms.
 */
export async function measureCpu(pid, during) {
  const wall0 = performance.now();
  const cpu0 = cpuMs(pid);
  const result = typeof during === 'number' ? await new Promise((r) => setTimeout(r, during)) : await during();
  const cpu1 = cpuMs(pid);
  const wallMs = performance.now() - wall0;
  const used = cpu1 - cpu0;
  return { cpuMs: used, wallMs, percent: (used / wallMs) * 100, msPerSecond: (used / wallMs) * 1000, result };
}

/** Pids of every live process in process group `pgid` (an app and its workers, or PM2's daemon and its). */
export function groupPids(pgid) {
  const pids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

/**
 * CPU used by the whole process group `pgid` while `during()` runs, ms (processes present both
 * before and after; a worker that comes or goes meanwhile is not counted).
 */
export async function measureGroupCpu(pgid, during) {
  const read = () =>
    new Map(
      groupPids(pgid).flatMap((pid) => {
        try {
          return [[pid, cpuMs(pid)]];
        } catch {
          return [];
        }
      }),
    );
  const before = read();
  const result = await during();
  const after = read();
  let used = 0;
  for (const [pid, ms] of after) if (before.has(pid)) used += ms - before.get(pid);
  return { cpuMs: used, processes: after.size, result };
}
