import { parseArgs } from 'node:util';
import { isErrorCode } from '../errors.js';
import { findRunningMaster, signalMaster } from '../primary/pidfiles.js';
import { runStatus } from './status.js';

/** Where the CLI writes; `process` fits, tests pass collectors. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

/** Exit codes of the `cluster2` command (SPEC "Exit codes"). */
export const CliExitCode = Object.freeze({
  OK: 0,
  /** A failure that is none of the below (e.g. the master could not be signalled). */
  FAILED: 1,
  BAD_ARGUMENTS: 2,
  NOT_RUNNING: 3,
});

/** `cluster2 --help`. */
export const USAGE = `Usage: cluster2 <command> [options]

Control a running cluster2 master through its pid files.

Commands:
  status      show the master, its workers and ECV state (read from the monitor)
  stop        stop at once (SIGQUIT); waits for the master to exit
  shutdown    graceful shutdown (SIGTERM); waits for the master to exit
  reload      rolling reload of every worker (SIGUSR2); returns at once

Options:
  --pids <dir>  directory holding master.pid and master.json (default: ./pids)
  --json        machine-readable output
  --no-wait     stop/shutdown: return once the signal is sent
  -h, --help    show this help

Environment:
  CLUSTER2_MON_TOKEN  the monitor's monToken, sent by status when the monitor has one

Exit codes: 0 ok, 1 failed, 2 bad arguments, 3 no master running in the pids directory.
`;

const SIGNALS = { stop: 'SIGQUIT', shutdown: 'SIGTERM', reload: 'SIGUSR2' } as const satisfies Record<string, NodeJS.Signals>;
type Command = 'status' | keyof typeof SIGNALS;

interface Parsed {
  command: Command;
  pids: string;
  json: boolean;
  wait: boolean;
}

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing command' : `one command expected, got: ${positionals.join(' ')}`);
  const command = positionals[0] as string;
  if (command !== 'status' && !(command in SIGNALS)) throw new UsageError(`unknown command '${command}'`);
  if (values.pids === '') throw new UsageError('--pids needs a directory');
  return { command: command as Command, pids: values.pids ?? './pids', json: values.json ?? false, wait: !values['no-wait'] };
}

async function runSignal(parsed: Parsed, signal: NodeJS.Signals, io: CliIo): Promise<number> {
  // reload returns at once: the rolling restart takes as long as the app's warm-up, and the master keeps running.
  const wait = parsed.command !== 'reload' && parsed.wait;
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
    return await runSignal(parsed, SIGNALS[parsed.command], io);
  } catch (error) {
    io.stderr.write(`cluster2: ${(error as Error).message}\n`);
    return isErrorCode(error, 'ERR_CLUSTER2_NOT_RUNNING') ? CliExitCode.NOT_RUNNING : CliExitCode.FAILED;
  }
}
