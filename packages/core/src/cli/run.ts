import { parseArgs } from 'node:util';
import { isErrorCode } from '../errors.js';
import { findRunningMaster, signalMaster } from '../primary/pidfiles.js';
import { DEFAULT_LOG_LINES, MAX_LOG_LINES, runLogs, type LogsRequest } from './logs.js';
import { ReloadExitCode, RELOAD_WAIT_MS, runReload } from './reload.js';
import { runStatus } from './status.js';
import type { CliIo } from './io.js';
import { runStart, START_USAGE } from './start.js';

/** Exit codes of the `cluster2` command (docs/events-and-errors.md "Exit codes", docs/monitor.md "CLI"). */
export const CliExitCode = Object.freeze({
  OK: 0,
  /** A failure that is none of the below (e.g. the master could not be signalled). */
  FAILED: 1,
  BAD_ARGUMENTS: 2,
  /** No master runs in the pids directory, or its pid file is stale (that pid is not signalled). */
  NOT_RUNNING: 3,
  ...ReloadExitCode,
});

/** `cluster2 --help`. */
export const USAGE = `Usage: cluster2 <command> [options]

Control a running cluster2 master through its pid files.

Commands:
  start       run an app's entry in a master and its workers (cluster2 start --help)
  status      show the master, its workers and ECV state (read from the monitor)
  stop        stop at once (SIGQUIT); waits for the master to exit
  shutdown    graceful shutdown (SIGTERM); waits for the master to exit
  reload      rolling reload of every worker (SIGUSR2); waits for its outcome
  logs        print the workers' captured output (from logs.dir, else through the monitor)

Options:
  --pids <dir>  directory holding master.pid and master.json (default: ./pids)
  --json        machine-readable output
  --no-wait     return once the signal is sent
  --timeout <ms>  reload: how long to wait for the outcome (default: 600000)
  --lines <n>   logs: how many of the last lines to print (default: 50)
  --err         logs: stderr lines only
  --worker <w>  logs: one worker's lines: w0 (or 0), master, or a pid
  -f, --follow  logs: keep printing new lines as they come
  --reopen      logs: have the master reopen its log files (after logrotate moved them)
  -h, --help    show this help

Before it signals, the CLI checks that the pid in master.json is the master that wrote it (same
start time): a stale pid file (the master died, its pid now names another process) is reported,
never signalled.

Environment:
  CLUSTER2_MON_TOKEN  the monitor's monToken, sent by status and logs when the monitor has one

Exit codes: 0 ok, 1 failed, 2 bad arguments, 3 no master running in the pids directory (or only a
stale pid file), 4 the reload failed (the workers that served before it still serve), 5 no
reload outcome within --timeout.
`;

const SIGNALS = { stop: 'SIGQUIT', shutdown: 'SIGTERM', reload: 'SIGUSR2' } as const satisfies Record<string, NodeJS.Signals>;
type Command = 'status' | 'logs' | keyof typeof SIGNALS;

interface Parsed {
  command: Command;
  pids: string;
  json: boolean;
  wait: boolean;
  timeoutMs: number;
  logs: LogsRequest;
}

const LOGS_FLAGS = ['lines', 'err', 'worker', 'follow', 'reopen'] as const;

class UsageError extends Error {}

/** Our own usage errors and parseArgs' (ERR_PARSE_ARGS_UNKNOWN_OPTION, …). */
function isUsageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'));
}

function parse(argv: string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      pids: { type: 'string' },
      json: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      timeout: { type: 'string' },
      lines: { type: 'string' },
      err: { type: 'boolean' },
      worker: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      reopen: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing command' : `one command expected, got: ${positionals.join(' ')}`);
  const command = positionals[0] as string;
  if (command !== 'status' && command !== 'logs' && !(command in SIGNALS)) throw new UsageError(`unknown command '${command}'`);
  if (values.pids === '') throw new UsageError('--pids needs a directory');
  const timeoutMs = values.timeout === undefined ? RELOAD_WAIT_MS : Number(values.timeout);
  if (!/^\d+$/.test(values.timeout ?? '0') || timeoutMs < 1) throw new UsageError(`--timeout must be a whole number of ms above 0, got '${values.timeout}'`);
  if (command !== 'logs') {
    const misplaced = LOGS_FLAGS.find((flag) => values[flag] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} is an option of 'cluster2 logs', not of '${command}'`);
  }
  const pids = values.pids ?? './pids';
  const json = values.json ?? false;
  return { command: command as Command, pids, json, wait: !values['no-wait'], timeoutMs, logs: parseLogs(values, pids, json) };
}

function parseLogs(values: { lines?: string; err?: boolean; worker?: string; follow?: boolean; reopen?: boolean }, pids: string, json: boolean): LogsRequest {
  const lines = values.lines === undefined ? DEFAULT_LOG_LINES : Number(values.lines);
  if (!/^\d+$/.test(values.lines ?? '1') || lines < 1 || lines > MAX_LOG_LINES) {
    throw new UsageError(`--lines must be a whole number from 1 to ${MAX_LOG_LINES}, got '${values.lines}'`);
  }
  const worker = values.worker;
  if (worker !== undefined && !/^(?:w?\d{1,10}|master)$/.test(worker)) {
    throw new UsageError(`--worker must be a worker label (w0), its index (0), 'master' or a pid, got '${worker}'`);
  }
  const request: LogsRequest = { pids, json, lines, errOnly: values.err ?? false, follow: values.follow ?? false, reopen: values.reopen ?? false };
  if (request.reopen && (request.follow || values.lines !== undefined || request.errOnly || worker !== undefined)) {
    throw new UsageError('--reopen takes no other logs option');
  }
  // 'w07' and '7' both mean instance 7; a pid stays digits.
  if (worker !== undefined) request.worker = worker.startsWith('w') ? `w${Number(worker.slice(1))}` : worker;
  return request;
}

async function runSignal(parsed: Parsed, signal: NodeJS.Signals, io: CliIo): Promise<number> {
  const wait = parsed.wait;
  if (wait && !parsed.json) {
    // Look the master up first: with nothing running, only the error (exit 3) is printed, not a claim to signal.
    const { pid } = findRunningMaster(parsed.pids);
    io.stdout.write(`sending ${signal} to master ${pid} in ${parsed.pids}; waiting for it to exit\n`);
  }
  const master = await signalMaster(parsed.pids, signal, wait);
  if (parsed.json) {
    io.stdout.write(`${JSON.stringify({ command: parsed.command, pid: master.pid, signal, exited: wait })}\n`);
  } else {
    io.stdout.write(wait ? `master ${master.pid} exited\n` : `sent ${signal} to master ${master.pid}\n`);
  }
  return CliExitCode.OK;
}

/**
 * The whole `cluster2` command as a function: parses `argv` (without node and script), acts,
 * and resolves with the exit code. It never calls process.exit, so tests can run it in-process.
 */
export async function runCli(argv: string[], io: CliIo = process): Promise<number> {
  if (argv[0] === 'start') return start(argv.slice(1), io);
  let parsed: Parsed | 'help';
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.stderr.write(`cluster2: ${(error as Error).message}\n\n${USAGE}`);
    return CliExitCode.BAD_ARGUMENTS;
  }
  if (parsed === 'help') {
    io.stdout.write(USAGE);
    return CliExitCode.OK;
  }
  try {
    if (parsed.command === 'status') return await runStatus(parsed.pids, parsed.json, io);
    if (parsed.command === 'logs') return await runLogs(parsed.logs, io);
    if (parsed.command === 'reload') return await runReload(parsed, io);
    return await runSignal(parsed, SIGNALS[parsed.command], io);
  } catch (error) {
    io.stderr.write(`cluster2: ${(error as Error).message}\n`);
    return isErrorCode(error, 'ERR_CLUSTER2_NOT_RUNNING') ? CliExitCode.NOT_RUNNING : CliExitCode.FAILED;
  }
}

/** Input errors of `cluster2 start` (flags, config file, entry): exit 2, like any usage error. */
const START_INPUT_ERRORS = new Set([
  'ERR_CLUSTER2_USAGE',
  'ERR_CLUSTER2_INVALID_OPTION',
  'ERR_CLUSTER2_UNKNOWN_OPTION',
  'ERR_CLUSTER2_CONFIG_INVALID',
  'ERR_CLUSTER2_ENTRY_NOT_FOUND',
  'ERR_CLUSTER2_ENTRY_NOT_RUNNABLE',
]);

async function start(argv: string[], io: CliIo): Promise<number> {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout.write(START_USAGE);
    return CliExitCode.OK;
  }
  try {
    return await runStart(argv, io);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    io.stderr.write(`cluster2: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return typeof code === 'string' && START_INPUT_ERRORS.has(code) ? CliExitCode.BAD_ARGUMENTS : CliExitCode.FAILED;
  }
}
