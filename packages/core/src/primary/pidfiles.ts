import fs from 'node:fs';
import path from 'node:path';
import { Cluster2Error } from '../errors.js';

/** What `master.json` holds, so a control script or the CLI can reach a running master. */
export interface MasterInfo {
  pid: number;
  ports: number[];
  host: string;
  monitor: { host: string; port: number } | null;
  /** ms since epoch */
  startedAt: number;
}

const MASTER_PID = 'master.pid';
const MASTER_JSON = 'master.json';
/** The last rolling reload's outcome: how `cluster2 reload` learns whether its deploy worked. */
const RELOAD_JSON = 'reload.json';
const workerFile = (pid: number) => `worker-${pid}.pid`;

/** The pid files of one running master. Every method is synchronous: they run at start and exit. */
export class PidFiles {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  writeMaster(info: MasterInfo): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, MASTER_PID), `${info.pid}\n`);
    fs.writeFileSync(path.join(this.dir, MASTER_JSON), `${JSON.stringify(info)}\n`);
  }

  /** Replaced whole (rename), so a reader never sees half a file. */
  writeReload(outcome: object): void {
    const target = path.join(this.dir, RELOAD_JSON);
    const temporary = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(outcome)}\n`);
    fs.renameSync(temporary, target);
  }

  writeWorker(pid: number): void {
    fs.writeFileSync(path.join(this.dir, workerFile(pid)), `${pid}\n`);
  }

  removeWorker(pid: number): void {
    fs.rmSync(path.join(this.dir, workerFile(pid)), { force: true });
  }

  /** Removes every file this master wrote, workers' included. */
  removeAll(workerPids: Iterable<number>): void {
    for (const pid of workerPids) this.removeWorker(pid);
    fs.rmSync(path.join(this.dir, MASTER_JSON), { force: true });
    fs.rmSync(path.join(this.dir, RELOAD_JSON), { force: true });
    fs.rmSync(path.join(this.dir, MASTER_PID), { force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running master recorded in `dir`; throws ERR_CLUSTER2_NOT_RUNNING when there is none (or only a stale file). */
export function findRunningMaster(dir: string): MasterInfo {
  const absolute = path.resolve(dir);
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(absolute, MASTER_PID), 'utf8'), 10);
  } catch {
    throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', `no cluster2 master is running: no ${MASTER_PID} in ${absolute}`);
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', `no cluster2 master is running: ${path.join(absolute, MASTER_PID)} names pid ${pid}, which is not alive`);
  }
  let info: Partial<MasterInfo> = {};
  try {
    info = JSON.parse(fs.readFileSync(path.join(absolute, MASTER_JSON), 'utf8')) as MasterInfo;
  } catch {
    // master.json is written right after master.pid; a reader racing start-up gets the pid alone.
  }
  return { ports: [], host: '', monitor: null, startedAt: 0, ...info, pid };
}

/** Worker pids recorded in `dir`. */
export function listWorkerPids(dir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.resolve(dir));
  } catch {
    return [];
  }
  return names
    .map((name) => /^worker-(\d+)\.pid$/.exec(name)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

/**
 * Signals the master recorded in `dir` and, unless `wait` is false, resolves once it has exited.
 * Rejects with ERR_CLUSTER2_NOT_RUNNING when no master runs there.
 */
export async function signalMaster(dir: string, signal: NodeJS.Signals, wait = true, pollMs = 50): Promise<MasterInfo> {
  const master = findRunningMaster(dir);
  try {
    process.kill(master.pid, signal);
  } catch (error) {
    throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', `could not signal master ${master.pid}: ${(error as Error).message}`);
  }
  if (wait) {
    while (isAlive(master.pid)) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return master;
}

/** The last reload recorded in `dir` (undefined when none is). */
export function readReloadOutcome(dir: string): { state: string; startedAt: number; endedAt?: number; error?: { code: string; message: string } } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(path.resolve(dir), RELOAD_JSON), 'utf8'));
  } catch {
    return undefined;
  }
}
