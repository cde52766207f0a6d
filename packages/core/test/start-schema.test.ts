// The option table behind cluster2 start's flags and JSON Schema, held against resolveOptions (so
// they cannot drift), the committed schema, and the docs' flag table and example configs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ECV_KEYS, LIMITS_KEYS, LOGS_KEYS, resolveOptions, RESTART_KEYS, TOP_LEVEL_KEYS } from '../src/options.js';
import { ALL_FLAGS, flagHelp, START_FLAGS } from '../src/start/flags.js';
import { NOT_START_OPTIONS, OPTION_TABLE, type OptionSpec } from '../src/start/option-table.js';
import { configSchema, configSchemaText } from '../src/start/schema.js';
import { loadStartSpec } from '../src/start/spec.js';

const core = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaFile = path.join(core, 'cluster2.schema.json');
const docsFile = path.resolve(core, '../../docs/configuration.md');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** `{ restart: { maxRestarts: value } }` for `restart.maxRestarts`. */
function optionsWith(key: string, value: unknown): Record<string, unknown> {
  const [head, tail] = key.split('.', 2) as [string, string | undefined];
  return tail === undefined ? { [head]: value } : { [head]: { [tail]: value } };
}

/** The options that let `key` take its table minimum, where that bound depends on a second option. */
const WITH: Record<string, (value: unknown) => Record<string, unknown>> = {
  maxHeartbeatDelay: (value) => ({ heartbeatInterval: 10, maxHeartbeatDelay: value }),
  'restart.maxDelay': (value) => ({ restart: { minDelay: 0, maxDelay: value } }),
  'restart.minDelay': (value) => ({ restart: { minDelay: value, maxDelay: 2_147_483_647 } }),
};

function resolves(key: string, value: unknown): boolean {
  try {
    resolveOptions(WITH[key]?.(value) ?? optionsWith(key, value));
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_CLUSTER2_INVALID_OPTION') throw error;
    return false;
  }
}

function ajv(): Ajv2020 {
  return new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
}

describe('the option table against resolveOptions', () => {
  const inTable = new Set(OPTION_TABLE.map((spec) => spec.key));
  /** Library keys start mode leaves out on purpose: functions, and the app's own choices. */
  const leftOut = new Set([...Object.keys(NOT_START_OPTIONS), 'logger', 'ecv.validator']);
  const groups: Array<[string, Set<string>]> = [
    ['ecv.', ECV_KEYS],
    ['restart.', RESTART_KEYS],
    ['limits.', LIMITS_KEYS],
    ['logs.', LOGS_KEYS],
  ];
  const libraryKeys = [
    ...[...TOP_LEVEL_KEYS].filter((key) => !['ecv', 'restart', 'limits', 'logs'].includes(key)),
    ...groups.flatMap(([prefix, keys]) => [...keys].map((key) => prefix + key)),
  ];

  it('holds every JSON-expressible key of resolveOptions, and nothing else', () => {
    expect(libraryKeys.length).toBeGreaterThan(40);
    expect(libraryKeys.filter((key) => !inTable.has(key) && !leftOut.has(key))).toEqual([]);
    expect([...inTable].filter((key) => !libraryKeys.includes(key))).toEqual([]);
    expect([...leftOut].filter((key) => inTable.has(key))).toEqual([]);
  });

  const integers = OPTION_TABLE.filter((spec): spec is OptionSpec & { kind: { type: 'integer'; min: number; max: number } } => spec.kind.type === 'integer');
  it.each(integers.map((spec) => [spec.key, spec] as const))('%s: the table min and max resolve, one beyond either does not', (key, spec) => {
    expect(resolves(key, spec.kind.min)).toBe(true);
    expect(resolves(key, spec.kind.max)).toBe(true);
    expect(resolves(key, spec.kind.min - 1)).toBe(false);
    expect(resolves(key, spec.kind.max + 1)).toBe(false);
  });

  const enums = OPTION_TABLE.flatMap((spec) => (spec.kind.type === 'enum' ? [[spec.key, spec.kind.values] as const] : []));
  it.each(enums)('%s: every enum value resolves, another does not', (key, values) => {
    expect(values.length).toBeGreaterThan(1);
    for (const value of values) expect(resolves(key, value)).toBe(true);
    expect(resolves(key, 'nope')).toBe(false);
  });

  it('every default in the table is what resolveOptions gives', () => {
    const resolved = resolveOptions({}) as unknown as Record<string, Record<string, unknown>>;
    const withDefaults = OPTION_TABLE.filter((spec) => spec.default !== undefined);
    expect(withDefaults.length).toBeGreaterThan(25);
    for (const spec of withDefaults) {
      const [head, tail] = spec.key.split('.', 2) as [string, string | undefined];
      expect(tail === undefined ? resolved[head] : resolved[head]![tail], spec.key).toEqual(spec.default);
    }
  });
});

describe('cluster2.schema.json', () => {
  it('is what the code generates (regenerate: CLUSTER2_WRITE_SCHEMA=1 npx vitest run --config vitest.projects.mts packages/core/test/start-schema.test.ts)', () => {
    if (process.env.CLUSTER2_WRITE_SCHEMA === '1') fs.writeFileSync(schemaFile, configSchemaText());
    const committed = fs.existsSync(schemaFile) ? fs.readFileSync(schemaFile, 'utf8') : '';
    expect(
      committed === configSchemaText(),
      'packages/core/cluster2.schema.json is out of date: regenerate it with CLUSTER2_WRITE_SCHEMA=1 npx vitest run --config vitest.projects.mts packages/core/test/start-schema.test.ts',
    ).toBe(true);
  });

  it('compiles in a strict draft 2020-12 validator, and is published with the package', () => {
    expect(() => ajv().compile(configSchema())).not.toThrow();
    const pkg = JSON.parse(fs.readFileSync(path.join(core, 'package.json'), 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(pkg.files).toContain('cluster2.schema.json');
    expect(pkg.exports['./cluster2.schema.json']).toBe('./cluster2.schema.json');
  });

  it('accepts one app or apps[], and rejects what loadStartSpec rejects: a range, an unknown key, port, a nested typo', () => {
    const validate = ajv().compile(configSchema());
    expect(
      validate({ $schema: './node_modules/@cluster2/core/cluster2.schema.json', script: 'app.js', noWorkers: 'max', ecv: true, sticky: { header: 'x-id' } }),
    ).toBe(true);
    expect(
      validate({
        apps: [
          { name: 'a', script: 'a.js' },
          { name: 'b', script: 'b.js', watch: true },
        ],
      }),
    ).toBe(true);
    for (const bad of [
      { shutdownTimeout: 0 },
      { workers: 2 },
      { port: 3000 },
      { restart: { retries: 1 } },
      { scheduling: 'random' },
      { apps: [] },
      { pids: true },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

/** The ```json config-example and ```js config-example blocks of docs/configuration.md, in order. */
function docExamples(): Array<{ info: string; code: string }> {
  const text = fs.readFileSync(docsFile, 'utf8');
  return [...text.matchAll(/^```(json|js) config-example(?: (invalid))?\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1]! + (m[2] ? ' invalid' : ''),
    code: m[3]!,
  }));
}

function exampleProject(name: string, code: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-config-example-'));
  dirs.push(dir);
  for (const file of ['server.js', 'jobs.js', '.env']) fs.writeFileSync(path.join(dir, file), '');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, name), code);
  return dir;
}

describe('docs/configuration.md', () => {
  const examples = docExamples();

  it('has JSON and .mjs example configs and an invalid one', () => {
    expect(examples.map((example) => example.info)).toEqual(expect.arrayContaining(['json', 'js', 'json invalid']));
  });

  it.each(examples.map((example, i) => [`${i} (${example.info})`, example] as const))(
    'example %s: the schema and loadStartSpec agree on it',
    async (_name, example) => {
      const isJson = example.info.startsWith('json');
      const dir = exampleProject(isJson ? 'cluster2.config.json' : 'cluster2.config.mjs', example.code);
      const many = /"apps"|apps:/.test(example.code);
      const load = loadStartSpec(many ? ['--app', 'web'] : [], dir);
      if (example.info.endsWith('invalid')) {
        expect(ajv().compile(configSchema())(JSON.parse(example.code))).toBe(false);
        await expect(load).rejects.toMatchObject({ code: 'ERR_CLUSTER2_INVALID_OPTION' });
        return;
      }
      if (isJson) {
        const validate = ajv().compile(configSchema());
        expect(validate(JSON.parse(example.code)), JSON.stringify(validate.errors)).toBe(true);
      }
      await expect(load).resolves.toMatchObject({ configFile: path.join(dir, isJson ? 'cluster2.config.json' : 'cluster2.config.mjs') });
    },
  );

  it('examples/start/cluster2.config.json validates against the schema and loads', async () => {
    const dir = path.resolve(core, '../../examples/start');
    const validate = ajv().compile(configSchema());
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'cluster2.config.json'), 'utf8')) as unknown;
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    await expect(loadStartSpec([], dir)).resolves.toMatchObject({ script: path.join(dir, 'server.js'), name: 'example', ecv: true });
  });

  it('its flag table lists exactly the flags cluster2 start parses', () => {
    const text = fs.readFileSync(docsFile, 'utf8');
    const heading = '\n## Command-line flags\n';
    expect(text).toContain(heading);
    const section = text.slice(text.indexOf(heading) + heading.length).split(/\n## /)[0]!;
    const documented = [...section.matchAll(/^\| (?:`-\w`, )?`--([a-z-]+)/gm)].map((m) => m[1]!).sort();
    expect(documented).toEqual([...ALL_FLAGS].sort());
    expect(START_FLAGS.find((flag) => flag.flag === 'workers')?.short).toBe('w');
  });
});

describe('flagHelp', () => {
  it('gives one line per flag parseArgs knows, each with a description, for the usage text', () => {
    const help = flagHelp();
    expect(help.map((line) => /--([a-z-]+)/.exec(line.flag)![1]).sort()).toEqual([...ALL_FLAGS].sort());
    expect(help[0]).toEqual({ flag: '-w, --workers <n|max>', description: expect.stringMatching(/workers/) });
    expect(help.find((line) => line.flag === '--restart-max-restarts <n>')?.description).toMatch(/deaths/);
    for (const line of help) expect(line.description.length, line.flag).toBeGreaterThan(10);
  });
});
