// The command line of `cluster2 start`: the start flags below plus one flag per row of
// OPTION_TABLE, parsed strictly with node:util parseArgs. Values are only converted here (numbers,
// KEY=VAL words); every check of an option's value happens in resolveOptions or spec.ts, so a flag
// and the same key in a config file fail with the same message.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Cluster2Error } from '../errors.js';
import { flagNameOf, OPTION_TABLE, type OptionSpec } from './option-table.js';

/** A flag of the start command itself (not a cluster option), for parsing, the usage text and the docs. */
export interface StartFlag {
  readonly flag: string;
  readonly short?: string;
  /** The value it takes, as the usage text shows it; none for a switch. */
  readonly value?: string;
  readonly multiple?: boolean;
  /** The config file key it overrides, if any. */
  readonly configKey?: string;
  readonly description: string;
}

export const START_FLAGS: readonly StartFlag[] = Object.freeze([
  {
    flag: 'workers',
    short: 'w',
    value: '<n|max>',
    configKey: 'noWorkers',
    description: 'workers to run; max (the default): the CPUs available, lowered to the CPU quota',
  },
  { flag: 'name', value: '<name>', configKey: 'name', description: 'a name for the app (process titles, status)' },
  { flag: 'env', value: '<KEY=VAL>', multiple: true, configKey: 'env', description: "an environment variable for the app's workers (repeatable)" },
  { flag: 'env-file', value: '<file>', configKey: 'envFile', description: 'a dotenv file of environment variables for the workers' },
  { flag: 'cwd', value: '<dir>', configKey: 'cwd', description: 'working directory of the app' },
  { flag: 'node-args', value: '<args>', configKey: 'nodeArgs', description: 'flags for the workers\' node, e.g. "--import tsx"' },
  { flag: 'config', value: '<file>', description: 'the config file to use instead of looking for cluster2.config.{json,mjs,cjs}' },
  { flag: 'app', value: '<name>', description: "which entry of the config file's apps array to start" },
  { flag: 'ecv', configKey: 'ecv', description: "serve the ECV health routes on the app's HTTP servers (implied by any --ecv-* flag)" },
  { flag: 'wait-ready', configKey: 'waitReady', description: 'a worker is ready only once the app calls process.send("ready")' },
  { flag: 'watch', configKey: 'watch', description: 'reload the workers when a file under the working directory changes' },
  {
    flag: 'watch-path',
    value: '<path>',
    multiple: true,
    configKey: 'watch',
    description: 'reload the workers when a file under this path changes (repeatable)',
  },
  { flag: 'detach', description: 'start in the background, wait until the app serves, return' },
  // PM2's names for the two log settings people reach for first.
  {
    flag: 'logs',
    value: '<dir>',
    configKey: 'logs.dir',
    description: 'also write the captured lines to out.log and err.log in this directory (short for --logs-dir)',
  },
  { flag: 'time', configKey: 'logs.time', description: 'start each log line with an ISO 8601 timestamp (short for --logs-time)' },
] satisfies StartFlag[]);

/** The flag (or flags) one option row gets; `noWorkers` has its own (`--workers`). */
export function flagsOfOption(spec: OptionSpec): { flag: string; value?: string; sets: unknown }[] {
  const name = flagNameOf(spec.key);
  switch (spec.kind.type) {
    case 'boolean':
      // A switch sets what is not the default: --no-monitor, --ecv-control.
      return spec.default === true ? [{ flag: `no-${name}`, sets: false }] : [{ flag: name, sets: true }];
    case 'path-or-false':
      return [
        { flag: name, value: '<dir>', sets: 'value' },
        { flag: `no-${name}`, sets: false },
      ];
    case 'sticky':
      return [
        { flag: name, sets: true },
        { flag: `${name}-header`, value: '<name>', sets: 'header' },
      ];
    case 'integer':
      return [{ flag: name, value: '<n>', sets: 'value' }];
    case 'enum':
      return [{ flag: name, value: `<${spec.kind.values.join('|')}>`, sets: 'value' }];
    case 'string':
      return [{ flag: name, value: '<value>', sets: 'value' }];
  }
}

const OPTION_FLAGS = OPTION_TABLE.filter((spec) => spec.key !== 'noWorkers').flatMap((spec) =>
  flagsOfOption(spec).map((flag) => ({ ...flag, key: spec.key, integer: spec.kind.type === 'integer' })),
);

const PARSE_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries([
  ...START_FLAGS.map((f) => [f.flag, { type: f.value ? 'string' : 'boolean', multiple: f.multiple ?? false, ...(f.short ? { short: f.short } : {}) }] as const),
  ...OPTION_FLAGS.map((f) => [f.flag, { type: f.value ? 'string' : 'boolean' }] as const),
]);

/** One line per flag for a usage text: `-w, --workers <n|max>` and what it does, start flags first. */
export function flagHelp(): { flag: string; description: string }[] {
  return [
    ...START_FLAGS.map((f) => ({ flag: `${f.short ? `-${f.short}, ` : ''}--${f.flag}${f.value ? ` ${f.value}` : ''}`, description: f.description })),
    ...OPTION_FLAGS.map((f) => ({
      flag: `--${f.flag}${f.value ? ` ${f.value}` : ''}`,
      description: OPTION_TABLE.find((spec) => spec.key === f.key)!.description,
    })),
  ];
}

/** Every long flag `cluster2 start` knows, without the dashes. */
export const ALL_FLAGS: readonly string[] = Object.freeze(Object.keys(PARSE_OPTIONS));

export interface ParsedFlags {
  entry: string | undefined;
  /** The words after `--`; undefined when there is no `--`. */
  args: string[] | undefined;
  /** Cluster options from flags, nested as the library takes them. */
  options: Record<string, unknown>;
  /** The start flags as given (undefined / false when absent). */
  start: {
    name?: string;
    env: string[];
    envFile?: string;
    cwd?: string;
    nodeArgs?: string;
    config?: string;
    app?: string;
    ecv: boolean;
    waitReady: boolean;
    watch: boolean;
    watchPaths: string[];
    detach: boolean;
  };
}

/** Strict numbers only: anything else goes on as the raw string, for resolveOptions to name. */
function numberOrRaw(raw: string): number | string {
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split('.', 2) as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const nested = (target[head] ??= {}) as Record<string, unknown>;
  nested[tail] = value;
}

/**
 * parseArgs refuses a value that starts with a dash ("ambiguous"), yet node flags always do and
 * a negative number should reach resolveOptions' message: join those to their flag with `=`.
 */
function joinDashValues(words: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    const long = word === '-w' ? 'workers' : word.slice(2);
    if (next !== undefined && (long === 'node-args' || (/^-\d/.test(next) && word.startsWith('-') && PARSE_OPTIONS[long]?.type === 'string'))) {
      joined.push(`--${long}=${next}`);
      i++;
    } else {
      joined.push(word);
    }
  }
  return joined;
}

/** Parses the words after `cluster2 start`. Throws ERR_CLUSTER2_USAGE on an unknown flag, a missing value or a second entry. */
export function parseStartFlags(argv: readonly string[]): ParsedFlags {
  const dashes = argv.indexOf('--');
  const own = dashes === -1 ? [...argv] : argv.slice(0, dashes);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinDashValues(own), options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new Cluster2Error('ERR_CLUSTER2_USAGE', `cluster2 start: ${(error as Error).message}`, { cause: error });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_USAGE',
      `cluster2 start takes one entry file; received ${positionals.map((p) => JSON.stringify(p)).join(', ')} (arguments for the app go after --)`,
    );
  }
  const options: Record<string, unknown> = {};
  const workers = values.workers as string | undefined;
  if (workers !== undefined && workers !== 'max') options.noWorkers = numberOrRaw(workers);
  for (const flag of OPTION_FLAGS) {
    const value = values[flag.flag] as string | boolean | undefined;
    if (value === undefined) continue;
    if (flag.sets === 'value') setPath(options, flag.key, flag.integer ? numberOrRaw(value as string) : value);
    else if (flag.sets === 'header') setPath(options, flag.key, { header: value });
    // A switch (--sticky) never undoes a value flag of the same key (--sticky-header).
    else if (options[flag.key] === undefined) setPath(options, flag.key, flag.sets);
  }
  if (values.logs !== undefined) setPath(options, 'logs.dir', values.logs);
  if (values.time === true) setPath(options, 'logs.time', true);
  const ecvFlagGiven = OPTION_FLAGS.some((flag) => flag.key.startsWith('ecv.') && values[flag.flag] !== undefined);
  return {
    entry: positionals[0],
    args: dashes === -1 ? undefined : argv.slice(dashes + 1),
    options,
    start: {
      name: values.name as string | undefined,
      env: (values.env as string[] | undefined) ?? [],
      envFile: values['env-file'] as string | undefined,
      cwd: values.cwd as string | undefined,
      nodeArgs: values['node-args'] as string | undefined,
      config: values.config as string | undefined,
      app: values.app as string | undefined,
      ecv: values.ecv === true || ecvFlagGiven,
      waitReady: values['wait-ready'] === true,
      watch: values.watch === true,
      watchPaths: (values['watch-path'] as string[] | undefined) ?? [],
      detach: values.detach === true,
    },
  };
}
