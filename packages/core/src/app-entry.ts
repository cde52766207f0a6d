import { statSync } from 'node:fs';
import path from 'node:path';
import { Cluster2Error } from './errors.js';
import { invalid } from './options.js';

/** Options of `cluster.run(script, options)`: how the workers run an unmodified app. */
export interface RunOptions {
  /** What the app sees as `process.argv.slice(2)`. @default [] */
  args?: string[];
  /** Flags for the workers' node, e.g. `['--import', 'tsx']` or `['--enable-source-maps']`. @default [] */
  nodeArgs?: string[];
  /** Environment added to the workers' (over the master's own). @default {} */
  env?: Record<string, string>;
  /** Serve the ECV routes on the app's http and https servers, before its own handlers. @default false */
  ecv?: boolean;
}

/** A validated app entry: what every worker runs. */
export interface AppEntry {
  /** Absolute path. */
  readonly script: string;
  readonly args: readonly string[];
  readonly nodeArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly ecv: boolean;
}

const TYPESCRIPT = /\.(c|m)?ts$/;
/** Flags that let node load what it cannot load alone (a TypeScript loader among them). */
const LOADER_FLAGS = /^--(import|require|loader|experimental-loader|experimental-strip-types|experimental-transform-types)\b|^-r$/;
const RUN_KEYS = new Set(['args', 'nodeArgs', 'env', 'ecv']);

function strings(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) invalid(name, 'an array of strings', value);
  return [...value];
}

function environment(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('env', 'an object of strings', value);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') invalid(`env.${key}`, 'a string', item);
  }
  return { ...(value as Record<string, string>) };
}

/**
 * Checks `script` and `options` once, before any worker is forked, so that a typo fails at once in
 * the master instead of as a crash loop of workers: the file must exist, and TypeScript needs a node
 * that strips types (22.18+, 23.6+) or a loader among `nodeArgs`.
 */
export function resolveAppEntry(script: unknown, options: unknown = {}, cwd = process.cwd()): AppEntry {
  if (typeof script !== 'string' || script.length === 0) invalid('script', 'the path of the app entry', script);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('run options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!RUN_KEYS.has(key))
      throw new Cluster2Error('ERR_CLUSTER2_UNKNOWN_OPTION', `unknown run() option "${key}"; known options are: ${[...RUN_KEYS].join(', ')}`);
  }
  const given = options as RunOptions;
  const absolute = path.resolve(cwd, script);
  if (!statSync(absolute, { throwIfNoEntry: false })?.isFile()) {
    throw new Cluster2Error('ERR_CLUSTER2_ENTRY_NOT_FOUND', `the app entry ${absolute} does not exist or is not a file`);
  }
  const nodeArgs = strings('nodeArgs', given.nodeArgs);
  if (TYPESCRIPT.test(absolute) && !stripsTypes() && !nodeArgs.some((flag) => LOADER_FLAGS.test(flag))) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_ENTRY_NOT_RUNNABLE',
      `node ${process.version} cannot run TypeScript (${path.basename(absolute)}) by itself: use Node 22.18 or later, or give a loader, e.g. nodeArgs ['--import', 'tsx'] (cluster2 start --node-args "--import tsx")`,
    );
  }
  if (given.ecv !== undefined && typeof given.ecv !== 'boolean') invalid('ecv', 'a boolean', given.ecv);
  return Object.freeze({
    script: absolute,
    args: Object.freeze(strings('args', given.args)),
    nodeArgs: Object.freeze(nodeArgs),
    env: Object.freeze(environment(given.env)),
    ecv: given.ecv ?? false,
  });
}

/** Whether this node runs .ts files by itself (`process.features.typescript`, Node 22.10+; on by default from 22.18 and 23.6). */
function stripsTypes(): boolean {
  const features = process.features as { typescript?: string | false };
  return typeof features.typescript === 'string';
}
