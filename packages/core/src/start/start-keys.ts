// The config file keys of `cluster2 start` that are not cluster options: what the app is and how
// its workers run. One row per key: its JSON Schema (schema.ts publishes it) and description.

export interface StartKeySpec {
  readonly key: string;
  readonly description: string;
  /** The JSON Schema of the key's value (draft 2020-12). */
  readonly schema: Readonly<Record<string, unknown>>;
}

const stringOrList = (what: string) => ({
  anyOf: [
    { type: 'array', items: { type: 'string' } },
    { type: 'string', description: `${what}, split on whitespace` },
  ],
});

export const START_KEYS: readonly StartKeySpec[] = Object.freeze([
  {
    key: 'script',
    description: "The app's entry file, relative to this file's directory (a command-line entry wins).",
    schema: { type: 'string', minLength: 1 },
  },
  { key: 'args', description: 'Arguments the app sees as process.argv.slice(2) (command line: after --).', schema: stringOrList('one string') },
  { key: 'name', description: 'A name for the app; picks it from "apps" with --app.', schema: { type: 'string', minLength: 1 } },
  { key: 'nodeArgs', description: 'Flags for the workers\' node, e.g. ["--import", "tsx"].', schema: stringOrList('one string') },
  {
    key: 'env',
    description: 'Environment variables for the workers; over envFile, under --env.',
    schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
  {
    key: 'envFile',
    description: "A dotenv file of environment variables for the workers, relative to this file's directory.",
    schema: { type: 'string', minLength: 1 },
  },
  {
    key: 'cwd',
    description: "Working directory of the app, relative to this file's directory. Default: the directory cluster2 runs in.",
    schema: { type: 'string', minLength: 1 },
  },
  { key: 'waitReady', description: 'A worker is ready only once the app calls process.send("ready").', schema: { type: 'boolean', default: false } },
  {
    key: 'watch',
    description: 'Reload the workers when a file changes: true watches cwd, a list watches those paths (relative to this file).',
    schema: { anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }], default: false },
  },
] satisfies StartKeySpec[]);

/** Allowed in every config and ignored: it only points editors at the schema. */
export const SCHEMA_KEY = '$schema';
