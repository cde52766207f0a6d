// From what the user typed and wrote to what `cluster2 start` runs: flags over the config file over
// the defaults, relative paths made absolute, every cluster option validated by resolveOptions.
import fs from 'node:fs';
import path from 'node:path';
import { resolveAppEntry } from '../app-entry.js';
import { Cluster2Error } from '../errors.js';
import { invalid, resolveOptions, TOP_LEVEL_KEYS, type ClusterOptions } from '../options.js';
import { findConfigFile, loadConfigFile } from './config-file.js';
import { readEnvFile } from './env-file.js';
import { parseStartFlags, type ParsedFlags } from './flags.js';
import { NOT_START_OPTIONS } from './option-table.js';
import { SCHEMA_KEY, START_KEYS } from './start-keys.js';

export interface StartSpec {
  /** Absolute path of the entry file (checked to exist). */
  script: string;
  /** Arguments the app sees as process.argv.slice(2). */
  args: string[];
  /** `--name` / config `name`; undefined when not given. */
  name: string | undefined;
  /** Flags for the workers' node. */
  nodeArgs: string[];
  /** Extra environment for the workers: env file, then config `env`, then `--env` (later wins). */
  env: Record<string, string>;
  /** Absolute working directory of the app. */
  cwd: string;
  /** A worker is ready only when the app calls process.send('ready'). */
  waitReady: boolean;
  /** Absolute paths to watch, or false. */
  watch: false | string[];
  /** Serve the ECV routes on the app's HTTP servers. */
  ecv: boolean;
  /** Start in the background, wait until serving, return. */
  detach: boolean;
  /** The options for `new Cluster(options)`, validated; `ecv` holds the ECV settings when `ecv` is on. */
  options: ClusterOptions;
  /** Absolute path of the config file used, if any. */
  configFile: string | undefined;
}

const START_KEY_NAMES = new Set([...START_KEYS.map((spec) => spec.key), SCHEMA_KEY]);
const CONFIG_KEYS = [...START_KEY_NAMES, ...[...TOP_LEVEL_KEYS].filter((key) => !(key in NOT_START_OPTIONS))];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkConfigKeys(app: Record<string, unknown>, file: string): void {
  for (const key of Object.keys(app)) {
    const why = NOT_START_OPTIONS[key];
    if (why !== undefined) {
      throw new Cluster2Error('ERR_CLUSTER2_UNKNOWN_OPTION', `option "${key}" is not a cluster2 start option (${file}): ${why}`);
    }
    if (!START_KEY_NAMES.has(key) && !TOP_LEVEL_KEYS.has(key)) {
      throw new Cluster2Error('ERR_CLUSTER2_UNKNOWN_OPTION', `unknown option "${key}" in ${file}; known options are: ${CONFIG_KEYS.join(', ')}`);
    }
  }
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) invalid(name, 'a non-empty string', value);
  return value;
}

/** A list of words: an array of strings, or one string split on whitespace. */
function words(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.split(/\s+/).filter((word) => word !== '');
  if (!Array.isArray(value) || !value.every((word) => typeof word === 'string')) invalid(name, 'an array of strings or one string', value);
  return value;
}

function existingDirectory(name: string, dir: string): string {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) invalid(name, 'an existing directory', dir);
  return dir;
}

function configEnv(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) invalid('env', 'an object of environment variables', value);
  const env: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!['string', 'number', 'boolean'].includes(typeof entry)) invalid(`env.${key}`, 'a string, number or boolean', entry);
    env[key] = String(entry);
  }
  return env;
}

function flagEnv(assignments: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of assignments) {
    const equals = word.indexOf('=');
    if (equals < 1) invalid('env', 'KEY=VALUE (as in --env NODE_ENV=production)', word);
    env[word.slice(0, equals)] = word.slice(equals + 1);
  }
  return env;
}

/** ECV is on with `--ecv`, any `--ecv-*` flag, or a config `ecv` of `true` or an object; flags' keys win. */
function mergeEcv(configValue: unknown, flags: ParsedFlags): Record<string, unknown> | undefined {
  if (configValue !== undefined && typeof configValue !== 'boolean' && !isPlainObject(configValue)) {
    invalid('ecv', 'true, false or an object of ECV settings', configValue);
  }
  const fromFlags = (flags.options.ecv ?? {}) as Record<string, unknown>;
  if (!flags.start.ecv && (configValue === undefined || configValue === false)) return undefined;
  return { ...(isPlainObject(configValue) ? configValue : {}), ...fromFlags };
}

/** Config options with flag options over them, one level deep (ecv is merged by mergeEcv). */
function mergeOptions(config: Record<string, unknown>, flags: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(flags)) {
    merged[key] = isPlainObject(value) && isPlainObject(config[key]) && key !== 'sticky' ? { ...config[key], ...value } : value;
  }
  return merged;
}

/**
 * Parses `argv` (the words after `cluster2 start`), finds and loads the config file, merges
 * (flags > config > defaults) and validates. Relative paths on the command line resolve against
 * `cwd`, in the config file against its directory. Throws a Cluster2Error.
 */
export async function loadStartSpec(argv: string[], cwd: string): Promise<StartSpec> {
  const flags = parseStartFlags(argv);
  const configFile = findConfigFile(cwd, flags.start.config);
  const loaded = configFile === undefined ? undefined : await loadConfigFile(configFile, flags.start.app);
  if (!loaded && flags.start.app !== undefined) {
    throw new Cluster2Error('ERR_CLUSTER2_USAGE', `--app ${flags.start.app} needs a config file with an "apps" array`);
  }
  const config = loaded?.app ?? {};
  if (loaded) checkConfigKeys(config, loaded.file);
  const configDir = loaded ? path.dirname(loaded.file) : cwd;
  const fromConfig = (value: string | undefined) => (value === undefined ? undefined : path.resolve(configDir, value));
  const fromCli = (value: string | undefined) => (value === undefined ? undefined : path.resolve(cwd, value));

  const appCwd = existingDirectory('cwd', fromCli(flags.start.cwd) ?? fromConfig(optionalString('cwd', config.cwd)) ?? cwd);
  const script = fromCli(flags.entry) ?? fromConfig(optionalString('script', config.script));
  if (script === undefined) {
    throw new Cluster2Error('ERR_CLUSTER2_USAGE', 'cluster2 start needs an entry file: cluster2 start <entry>, or "script" in the config file');
  }
  const nodeArgs = words('nodeArgs', flags.start.nodeArgs) ?? words('nodeArgs', config.nodeArgs) ?? [];
  // cluster.run()'s own checks (the file exists, this node can run it), made before anything starts.
  resolveAppEntry(script, { nodeArgs });

  const envFile = fromCli(flags.start.envFile) ?? fromConfig(optionalString('envFile', config.envFile));
  const env = { ...(envFile === undefined ? {} : readEnvFile(envFile, 'envFile')), ...configEnv(config.env), ...flagEnv(flags.start.env) };

  if (config.waitReady !== undefined && typeof config.waitReady !== 'boolean') invalid('waitReady', 'a boolean', config.waitReady);
  const watch = watchPaths(flags, config.watch, appCwd, cwd, configDir);

  const options = mergeOptions(Object.fromEntries(Object.entries(config).filter(([key]) => !START_KEY_NAMES.has(key))), flags.options);
  // "max" is the default worker count; start mode takes the word, as the -w flag does.
  if (options.noWorkers === 'max') delete options.noWorkers;
  const ecv = mergeEcv(config.ecv, flags);
  if (ecv === undefined) delete options.ecv;
  else options.ecv = ecv;
  // The app's own listen() picks its ports, so the library's default app port (3000) must not
  // stand in the way of a monitor port: validate as if the app port were "any".
  resolveOptions({ ...(options as ClusterOptions), port: 0 });

  return {
    script,
    args: flags.args ?? words('args', config.args) ?? [],
    name: flags.start.name ?? optionalString('name', config.name),
    nodeArgs,
    env,
    cwd: appCwd,
    waitReady: flags.start.waitReady || config.waitReady === true,
    watch,
    ecv: ecv !== undefined,
    detach: flags.start.detach,
    options,
    configFile: loaded?.file,
  };
}

/** Flags (`--watch`: the app's cwd; `--watch-path`: against the invoking cwd) replace the config's `watch`. */
function watchPaths(flags: ParsedFlags, configValue: unknown, appCwd: string, cwd: string, configDir: string): false | string[] {
  if (flags.start.watch || flags.start.watchPaths.length > 0) {
    return [...(flags.start.watch ? [appCwd] : []), ...flags.start.watchPaths.map((p) => path.resolve(cwd, p))];
  }
  if (configValue === undefined || configValue === false) return false;
  if (configValue === true) return [appCwd];
  if (!Array.isArray(configValue) || configValue.length === 0 || !configValue.every((p) => typeof p === 'string' && p !== '')) {
    invalid('watch', 'true, false or a non-empty array of paths', configValue);
  }
  return (configValue as string[]).map((p) => path.resolve(configDir, p));
}
