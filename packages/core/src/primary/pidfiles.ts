import fs from 'node:fs';
import path from 'node:path';
import { Cluster2Error } from '../errors.js';
import type { ReloadStatus } from '../status.js';
import { makeDirectory, probeWritable, unlinkNoFollow, writeFileNoFollow } from './safe-write.js';
import { identityMismatch, processIdentity } from './process-identity.js';

/** What `master.json` holds, so a control script or the CLI can reach a running master. */
export interface MasterInfo {
  pid: number;
  ports: number[];
  host: string;
  monitor: { host: string; port: number } | null;
  /** ms since epoch */
  startedAt: number;
  /**
   * The master's start time as {@link processIdentity} reads it; null where the system has no
   * way to read one (no /proc, no ps). Missing in files an older cluster2 wrote.
   */
  startTime?: string | null;
  /** The master's command line when it wrote the file (for messages). */
  command?: string;
  /** Where captured logs are written (`cluster2 logs` reads them); null without capture. Missing in files an older cluster2 wrote. */
  logs?: { dir: string | null; files: 'stream' | 'worker'; format: 'text' | 'json' } | null;
}

/** The master recorded in a pids directory: running (verified), or why not. */
export type MasterRecord = { running: true; info: MasterInfo } | { running: false; reason: string };

const MASTER_PID = 'master.pid';
const MASTER_JSON = 'master.json';
/** The last rolling reload's outcome: how `cluster2 reload` learns whether its deploy worked. */
const RELOAD_JSON = 'reload.json';
const workerFile = (pid: number) => `worker-${pid}.pid`;
const WORKER_FILE = /^worker-(\d+)\.pid$/;

/**
 * The pid files of one running master. Every method is synchronous: they run at start and exit.
 * Files are written through a temporary file renamed over the target and removed with unlink, so a
 * symlink planted in the directory is replaced or removed itself, never followed.
 */
export class PidFiles {
  readonly dir: string;
  #claimed = false;
  #wroteMaster = false;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /**
   * Takes the directory for this process before it starts serving: creates it, proves it
   * writable, refuses it while another live master is recorded there (ERR_CLUSTER2_PIDS_IN_USE),
   * and clears what a dead or stale master left behind. Writes nothing of its own.
   */
  claim(): void {
    if (this.#claimed) return;
    this.#unwritable(() => makeDirectory(this.dir));
    this.#refuseLiveMaster(process.pid);
    // A directory that exists but is read-only fails here, before the monitor starts.
    this.#unwritable(() => {
      probeWritable(this.dir);
      // Worker files in a directory no live master owns are a dead master's leftovers.
      for (const pid of listWorkerPids(this.dir)) unlinkNoFollow(path.join(this.dir, workerFile(pid)));
    });
    this.#claimed = true;
  }

  writeMaster(info: Omit<MasterInfo, 'startTime' | 'command'>): void {
    this.claim();
    const identity = processIdentity(info.pid);
    const record: MasterInfo = { ...info, startTime: identity?.startTime ?? null, command: identity?.command ?? process.argv.join(' ') };
    // master.json first: it is what readers verify; master.pid follows for scripts that read the pid alone.
    const json = `${JSON.stringify(record)}\n`;
    this.#unwritable(() => {
      const first = !this.#wroteMaster;
      // The first write only creates: if master.json appeared since claim(), another master may
      // be starting at the same moment, and a live one keeps its directory.
      if (!first || !writeFileNoFollow(this.dir, MASTER_JSON, json, { exclusive: true })) {
        if (first) this.#refuseLiveMaster(info.pid);
        writeFileNoFollow(this.dir, MASTER_JSON, json);
      }
      writeFileNoFollow(this.dir, MASTER_PID, `${info.pid}\n`);
    });
    this.#wroteMaster = true;
  }

  /** The last reload's outcome, replaced whole: a reader never sees half a file. */
  writeReload(outcome: object): void {
    writeFileNoFollow(this.dir, RELOAD_JSON, `${JSON.stringify(outcome)}\n`);
  }

  writeWorker(pid: number): void {
    this.#unwritable(() => writeFileNoFollow(this.dir, workerFile(pid), `${pid}\n`));
  }

  removeWorker(pid: number): void {
    unlinkNoFollow(path.join(this.dir, workerFile(pid)));
  }

  /** Removes every file this master wrote, workers' included; master files another master wrote stay. */
  removeAll(workerPids: Iterable<number>): void {
    for (const pid of workerPids) this.removeWorker(pid);
    if (readJson(this.dir)?.pid === process.pid) {
      unlinkNoFollow(path.join(this.dir, MASTER_JSON));
      unlinkNoFollow(path.join(this.dir, RELOAD_JSON));
    }
    if (readPid(this.dir) === process.pid) unlinkNoFollow(path.join(this.dir, MASTER_PID));
  }

  #refuseLiveMaster(self: number): void {
    const record = inspectMaster(this.dir);
    if (!record.running || record.info.pid === self) return;
    const { pid, host, ports, monitor } = record.info;
    const monitorText = monitor ? `, monitor ${monitor.host}:${monitor.port}` : '';
    throw new Cluster2Error(
      'ERR_CLUSTER2_PIDS_IN_USE',
      `pids directory ${this.dir} belongs to a running cluster2 master (pid ${pid}, ${host}:${ports.join(',')}${monitorText}); ` +
        'stop that master first, or give this one its own directory (option pids)',
    );
  }

  #unwritable<T>(action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (error instanceof Cluster2Error) throw error;
      const { code = 'error', message } = error as NodeJS.ErrnoException;
      const system = message.startsWith(code) ? message : `${code}: ${message}`;
      throw new Cluster2Error(
        'ERR_CLUSTER2_PIDS_UNWRITABLE',
        `option pids: cannot create or write the pid-file directory ${this.dir} (${system}); ` +
          'set pids to a writable directory, or pids: false for no pid files',
        { cause: error },
      );
    }
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

function readJson(dir: string): Partial<MasterInfo> | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, MASTER_JSON), 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function readPid(dir: string): number | undefined {
  try {
    return Number.parseInt(fs.readFileSync(path.join(dir, MASTER_PID), 'utf8'), 10);
  } catch {
    return undefined;
  }
}

const validPid = (pid: unknown): pid is number => Number.isInteger(pid) && (pid as number) > 0;

/**
 * The master recorded in `dir`, verified: a live pid counts only when master.json records its
 * start time and the live process matches it. A pid that is alive but unverifiable is stale.
 */
export function inspectMaster(dir: string): MasterRecord {
  const absolute = path.resolve(dir);
  const jsonFile = path.join(absolute, MASTER_JSON);
  const json = readJson(absolute);
  if (json === undefined || !validPid(json.pid)) {
    const pid = readPid(absolute);
    if (pid === undefined) return { running: false, reason: `no ${MASTER_PID} in ${absolute}` };
    const pidFile = path.join(absolute, MASTER_PID);
    if (!validPid(pid) || !isAlive(pid)) return { running: false, reason: `${pidFile} names pid ${pid}, which is not alive` };
    return {
      running: false,
      reason: `stale pid file ${pidFile}: pid ${pid} is alive, but there is no ${MASTER_JSON} to verify it is the master that wrote the file`,
    };
  }
  const info: MasterInfo = { ports: [], host: '', monitor: null, startedAt: 0, ...json, pid: json.pid };
  const { pid } = info;
  if (!isAlive(pid)) return { running: false, reason: `${jsonFile} names pid ${pid}, which is not alive` };
  if (info.startTime === undefined) {
    return {
      running: false,
      reason: `stale pid file ${jsonFile}: it records no start time (an older cluster2 wrote it), so pid ${pid} cannot be verified as its master`,
    };
  }
  // A master that recorded no start time ran where none can be read: the live pid is all there is.
  if (info.startTime === null) return { running: true, info };
  const live = processIdentity(pid);
  if (live === undefined) {
    if (!isAlive(pid)) return { running: false, reason: `${jsonFile} names pid ${pid}, which is not alive` };
    return { running: false, reason: `stale pid file ${jsonFile}: the start time of pid ${pid} cannot be read to verify it` };
  }
  if (live.zombie) return { running: false, reason: `${jsonFile} names pid ${pid}, which has exited (a zombie not yet reaped)` };
  const mismatch = identityMismatch(pid, { startTime: info.startTime, command: info.command ?? '' }, live);
  if (mismatch) return { running: false, reason: `stale pid file ${jsonFile}: ${mismatch}` };
  return { running: true, info };
}

/**
 * The running master recorded in `dir`; throws ERR_CLUSTER2_NOT_RUNNING when there is none, or
 * only a stale or unverifiable file (the message says which, and why).
 */
export function findRunningMaster(dir: string): MasterInfo {
  const record = inspectMaster(dir);
  if (record.running) return record.info;
  const advice = record.reason.startsWith('stale') ? '; not signalling it (remove the pid files once no master runs there)' : '';
  throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', `no cluster2 master is running: ${record.reason}${advice}`);
}

/** True while the process `master` describes runs: not once it exited, became a zombie, or its pid was reused. */
function stillRunning(master: MasterInfo): boolean {
  if (!isAlive(master.pid)) return false;
  if (typeof master.startTime !== 'string') return true;
  const live = processIdentity(master.pid);
  return live !== undefined && !live.zombie && live.startTime === master.startTime;
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
    .map((name) => WORKER_FILE.exec(name)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

/**
 * Signals the master recorded in `dir` and, unless `wait` is false, resolves once it has exited.
 * Rejects with ERR_CLUSTER2_NOT_RUNNING, signalling nothing, when no master verifiably runs there.
 */
export async function signalMaster(dir: string, signal: NodeJS.Signals, wait = true, pollMs = 50): Promise<MasterInfo> {
  const master = findRunningMaster(dir);
  try {
    process.kill(master.pid, signal);
  } catch (error) {
    throw new Cluster2Error('ERR_CLUSTER2_NOT_RUNNING', `could not signal master ${master.pid}: ${(error as Error).message}`);
  }
  if (wait) {
    while (stillRunning(master)) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return master;
}

/** The last reload recorded in `dir` (undefined when none is). */
export function readReloadOutcome(dir: string): ReloadStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(path.resolve(dir), RELOAD_JSON), 'utf8')) as ReloadStatus;
  } catch {
    return undefined;
  }
}
