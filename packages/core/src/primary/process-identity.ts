import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * What tells one process from a later one that got the same pid: its start time (and command).
 * A pid file outlives its process (SIGKILL, OOM kill); after pid reuse the pid alone names a
 * stranger, so the pid files record this and the CLI signals only a process that matches it.
 */
export interface ProcessIdentity {
  /**
   * Opaque; equal only for the same process. Linux: `proc:<boot id>:<start time in clock ticks
   * since boot>` from /proc (exact). Elsewhere: `ps:<lstart>` from `ps -o lstart=` (1 s resolution).
   */
  startTime: string;
  /** When it started, for messages. */
  started: string;
  /** Its command line, for messages (and compared where the start time is coarse). */
  command: string;
  /** True when `startTime` alone identifies the process (Linux); false for ps' 1 s resolution. */
  exact: boolean;
  /** A zombie has exited and waits to be reaped: it holds nothing and takes no signals. */
  zombie: boolean;
}

/** Clock ticks per second: USER_HZ is 100 on every Linux architecture Node runs on (display only). */
const USER_HZ = 100;

let linuxBoot: { id: string; btimeMs: number } | null | undefined;

/** The boot id (so a start time from before a reboot never matches) and boot time, or null without /proc. */
function boot(): { id: string; btimeMs: number } | null {
  if (linuxBoot !== undefined) return linuxBoot;
  try {
    const id = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1];
    linuxBoot = { id, btimeMs: Number(btime ?? 0) * 1000 };
  } catch {
    linuxBoot = null;
  }
  return linuxBoot;
}

/**
 * Fields 3… of /proc/<pid>/stat. Field 2 is `(comm)`, which may hold spaces and parentheses:
 * everything after the LAST `)` is space-separated.
 */
export function parseProcStat(stat: string): { state: string; startTicks: string } | undefined {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const startTicks = fields[19];
  if (fields[0] === undefined || startTicks === undefined || !/^\d+$/.test(startTicks)) return undefined;
  return { state: fields[0], startTicks };
}

function fromProc(pid: number, bootInfo: { id: string; btimeMs: number }): ProcessIdentity | undefined {
  let stat: string;
  let cmdline: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseProcStat(stat);
  if (!parsed) return undefined;
  const command = cmdline
    .split('\0')
    .filter((part) => part !== '')
    .join(' ');
  return {
    startTime: `proc:${bootInfo.id}:${parsed.startTicks}`,
    started: new Date(bootInfo.btimeMs + (Number(parsed.startTicks) * 1000) / USER_HZ).toISOString(),
    command,
    exact: true,
    zombie: parsed.state === 'Z',
  };
}

function ps(pid: number, column: string): string | undefined {
  try {
    return execFileSync('ps', ['-o', `${column}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/** From `ps`: where there is no /proc (macOS, the BSDs). Exported for tests on Linux. */
export function fromPs(pid: number): ProcessIdentity | undefined {
  const lstart = ps(pid, 'lstart');
  if (!lstart) return undefined;
  const state = ps(pid, 'stat') ?? '';
  return { startTime: `ps:${lstart.replace(/\s+/g, ' ')}`, started: lstart, command: ps(pid, 'command') ?? '', exact: false, zombie: state.startsWith('Z') };
}

/**
 * The identity of `pid`, or undefined when it cannot be read: the process is gone, or this
 * system has neither /proc nor `ps` (Windows).
 */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const bootInfo = boot();
  return bootInfo ? fromProc(pid, bootInfo) : fromPs(pid);
}

/** Why `live` is not the process `recorded` describes, or undefined when it is. */
export function identityMismatch(pid: number, recorded: { startTime: string; command: string }, live: ProcessIdentity): string | undefined {
  const what = live.command === '' ? '' : ` and is \`${live.command}\``;
  if (live.startTime !== recorded.startTime) {
    return `pid ${pid} is alive but started at ${live.started}${what}, not the master that wrote this file`;
  }
  // On Linux the start time (with the boot id) is exact, and the command line changes when the
  // master sets process.title: only ps' 1 s start time needs the command to tell two apart.
  if (!live.exact && live.command !== recorded.command) {
    return `pid ${pid} is \`${live.command}\`, not the master that wrote this file (\`${recorded.command}\`)`;
  }
  return undefined;
}
