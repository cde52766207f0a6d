// cluster2 start's config files (json, mjs, cjs, apps[]) and env files. In-process: nothing forks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnvText } from '../src/start/env-file.js';
import { loadStartSpec } from '../src/start/spec.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string | object> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-start-config-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries({ 'app.js': '', ...files })) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('expected an error; got none');
}

const SETTINGS = {
  script: 'app.js',
  name: 'api',
  args: '--mode fast',
  nodeArgs: ['--enable-source-maps'],
  env: { NODE_ENV: 'production', RETRIES: 3, DEBUG: false },
  waitReady: true,
  watch: ['src'],
  noWorkers: 2,
  restart: { maxRestarts: 3 },
  ecv: { path: '/health', control: true },
};

describe('config files', () => {
  it.each([
    ['cluster2.config.json', JSON.stringify(SETTINGS)],
    ['cluster2.config.mjs', `export default ${JSON.stringify(SETTINGS)};`],
    ['cluster2.config.cjs', `module.exports = ${JSON.stringify(SETTINGS)};`],
    ['cluster2.config.mjs', `export default async () => (${JSON.stringify(SETTINGS)});`],
  ])('%s (%#) gives the same spec', async (name, text) => {
    const dir = project({ [name]: text, 'src/.keep': '' });
    const spec = await loadStartSpec([], dir);
    expect(spec).toEqual({
      script: path.join(dir, 'app.js'),
      args: ['--mode', 'fast'],
      name: 'api',
      nodeArgs: ['--enable-source-maps'],
      env: { NODE_ENV: 'production', RETRIES: '3', DEBUG: 'false' },
      cwd: dir,
      waitReady: true,
      watch: [path.join(dir, 'src')],
      ecv: true,
      detach: false,
      options: { noWorkers: 2, restart: { maxRestarts: 3 }, ecv: { path: '/health', control: true } },
      configFile: path.join(dir, name),
    });
  });

  it('an .mjs config may hold what JSON cannot: a logger and an ECV validator reach the options', async () => {
    const dir = project({
      'cluster2.config.mjs': `const log = () => {};
export default { script: 'app.js', logger: { debug: log, info: log, warn: log, error: log }, ecv: { validator: () => true } };`,
    });
    const spec = await loadStartSpec([], dir);
    expect(typeof spec.options.logger?.info).toBe('function');
    expect(typeof spec.options.ecv?.validator).toBe('function');
  });

  it('flags win over the config, the config over the defaults; nested keys merge one by one', async () => {
    const dir = project({
      'cluster2.config.json': {
        noWorkers: 2,
        timeout: 1000,
        restart: { maxRestarts: 3, window: 5000 },
        name: 'from-config',
        args: ['a'],
        ecv: { path: '/health' },
      },
    });
    const spec = await loadStartSpec(['app.js', '-w', '4', '--restart-max-restarts', '7', '--name', 'from-flag', '--ecv-control', '--', 'b'], dir);
    expect(spec.options).toEqual({ noWorkers: 4, timeout: 1000, restart: { maxRestarts: 7, window: 5000 }, ecv: { path: '/health', control: true } });
    expect(spec.name).toBe('from-flag');
    expect(spec.args).toEqual(['b']);
  });

  it('env: the env file, then the config env, then --env; later wins', async () => {
    const dir = project({
      '.env': 'A=file\nB=file\nC=file\n',
      'cluster2.config.json': { envFile: '.env', env: { B: 'config', C: 'config' } },
    });
    expect((await loadStartSpec(['app.js', '--env', 'C=flag'], dir)).env).toEqual({ A: 'file', B: 'config', C: 'flag' });
  });

  it('relative paths in a config resolve against its directory, on the command line against the invoking cwd', async () => {
    const dir = project({
      'deploy/cluster2.config.json': { script: '../app.js', cwd: 'work', envFile: 'prod.env', watch: ['../src'] },
      'deploy/work/.keep': '',
      'deploy/prod.env': 'WHERE=deploy',
      'local.env': 'WHERE=local',
    });
    const fromConfig = await loadStartSpec(['--config', 'deploy/cluster2.config.json'], dir);
    expect(fromConfig).toMatchObject({
      script: path.join(dir, 'app.js'),
      cwd: path.join(dir, 'deploy', 'work'),
      env: { WHERE: 'deploy' },
      watch: [path.join(dir, 'src')],
      configFile: path.join(dir, 'deploy', 'cluster2.config.json'),
    });
    const fromFlags = await loadStartSpec(['--config', 'deploy/cluster2.config.json', '--env-file', 'local.env', '--cwd', '.', '--watch'], dir);
    expect(fromFlags).toMatchObject({ cwd: dir, env: { WHERE: 'local' }, watch: [dir] });
  });

  it('a cwd that is not a directory is ERR_CLUSTER2_INVALID_OPTION naming it', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['app.js', '--cwd', 'missing'], dir))).toEqual({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: `option "cwd" must be an existing directory; received ${JSON.stringify(path.join(dir, 'missing'))}`,
    });
  });

  it('an unknown key, top-level or nested, is ERR_CLUSTER2_UNKNOWN_OPTION naming it', async () => {
    const top = await failure(loadStartSpec([], project({ 'cluster2.config.json': { script: 'app.js', workers: 2 } })));
    expect(top.code).toBe('ERR_CLUSTER2_UNKNOWN_OPTION');
    expect(top.message).toMatch(/^unknown option "workers" in .*cluster2\.config\.json; known options are: .*noWorkers/);
    expect(await failure(loadStartSpec([], project({ 'cluster2.config.json': { script: 'app.js', restart: { retries: 2 } } })))).toEqual({
      code: 'ERR_CLUSTER2_UNKNOWN_OPTION',
      message: 'unknown option "restart.retries"; known options are: restart.minDelay, restart.maxDelay, restart.maxRestarts, restart.window',
    });
  });

  it.each(['port', 'host', 'cluster', 'readySignal'])('"%s" in a config is refused with why and what to do instead', async (key) => {
    const error = await failure(loadStartSpec([], project({ 'cluster2.config.json': { script: 'app.js', [key]: key === 'host' ? 'x' : 3000 } })));
    expect(error.code).toBe('ERR_CLUSTER2_UNKNOWN_OPTION');
    expect(error.message).toMatch(new RegExp(`^option "${key}" is not a cluster2 start option`));
    if (key === 'port') expect(error.message).toMatch(/the app chooses its port with its own listen\(\) call/);
    if (key === 'readySignal') expect(error.message).toMatch(/waitReady/);
  });

  it('a wrongly typed start key is ERR_CLUSTER2_INVALID_OPTION in the options message style', async () => {
    expect(await failure(loadStartSpec([], project({ 'cluster2.config.json': { script: 'app.js', nodeArgs: [1] } })))).toEqual({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: 'option "nodeArgs" must be an array of strings or one string; received [1]',
    });
    expect(await failure(loadStartSpec([], project({ 'cluster2.config.json': { script: 'app.js', watch: 'src' } })))).toMatchObject({
      message: 'option "watch" must be true, false or a non-empty array of paths; received "src"',
    });
  });
});

describe('finding and reading the config file', () => {
  it('two config files in one directory are ERR_CLUSTER2_CONFIG_AMBIGUOUS naming both', async () => {
    const dir = project({ 'cluster2.config.json': {}, 'cluster2.config.cjs': 'module.exports = {}' });
    expect(await failure(loadStartSpec(['app.js'], dir))).toMatchObject({
      code: 'ERR_CLUSTER2_CONFIG_AMBIGUOUS',
      message: expect.stringMatching(/cluster2\.config\.json, cluster2\.config\.cjs.*--config/),
    });
    // --config settles it.
    expect((await loadStartSpec(['app.js', '--config', 'cluster2.config.cjs'], dir)).configFile).toBe(path.join(dir, 'cluster2.config.cjs'));
  });

  it('a JSON config saved with a byte order mark is read', async () => {
    expect((await loadStartSpec([], project({ 'cluster2.config.json': '\uFEFF{ "script": "app.js", "timeout": 5 }' }))).options).toEqual({ timeout: 5 });
  });

  it('a --config file that does not exist is ERR_CLUSTER2_CONFIG_INVALID naming it', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['app.js', '--config', 'nope.json'], dir))).toEqual({
      code: 'ERR_CLUSTER2_CONFIG_INVALID',
      message: `config file ${path.join(dir, 'nope.json')}: no such file (given with --config)`,
    });
  });

  it('invalid JSON is ERR_CLUSTER2_CONFIG_INVALID with the line and column', async () => {
    const error = await failure(loadStartSpec(['app.js'], project({ 'cluster2.config.json': '{\n  "noWorkers": 2,\n}\n' })));
    expect(error.code).toBe('ERR_CLUSTER2_CONFIG_INVALID');
    expect(error.message).toMatch(/cluster2\.config\.json: not valid JSON: .*line 3 column 1/);
  });

  it('a module config that throws, or exports no object, is ERR_CLUSTER2_CONFIG_INVALID with the cause', async () => {
    const thrown = await failure(loadStartSpec(['app.js'], project({ 'cluster2.config.mjs': 'throw new Error("no secrets store");' })));
    expect(thrown).toMatchObject({
      code: 'ERR_CLUSTER2_CONFIG_INVALID',
      message: expect.stringMatching(/cluster2\.config\.mjs: loading it threw: no secrets store/),
    });
    const rejected = await failure(loadStartSpec(['app.js'], project({ 'cluster2.config.mjs': 'export default async () => { throw new Error("later"); };' })));
    expect(rejected.message).toMatch(/loading it threw: later/);
    const array = await failure(loadStartSpec(['app.js'], project({ 'cluster2.config.cjs': 'module.exports = [1];' })));
    expect(array).toMatchObject({ code: 'ERR_CLUSTER2_CONFIG_INVALID', message: expect.stringMatching(/must be an object of settings; received an array/) });
  });
});

describe('apps[]', () => {
  const apps = {
    apps: [
      { name: 'web', script: 'app.js', noWorkers: 2 },
      { name: 'jobs', script: 'jobs.js', noWorkers: 1, env: { QUEUE: 'main' } },
    ],
  };

  it('--app picks one app by name', async () => {
    const dir = project({ 'jobs.js': '', 'cluster2.config.json': apps });
    expect(await loadStartSpec(['--app', 'jobs'], dir)).toMatchObject({
      name: 'jobs',
      script: path.join(dir, 'jobs.js'),
      env: { QUEUE: 'main' },
      options: { noWorkers: 1 },
    });
  });

  it('several apps without --app is ERR_CLUSTER2_USAGE listing their names; an unknown name likewise', async () => {
    const dir = project({ 'jobs.js': '', 'cluster2.config.json': apps });
    expect(await failure(loadStartSpec([], dir))).toMatchObject({
      code: 'ERR_CLUSTER2_USAGE',
      message: expect.stringMatching(/2 apps \(web, jobs\); choose one with --app <name>/),
    });
    expect(await failure(loadStartSpec(['--app', 'mail'], dir))).toMatchObject({
      code: 'ERR_CLUSTER2_USAGE',
      message: expect.stringMatching(/no app named "mail"; its apps are: web, jobs/),
    });
  });

  it('one app is taken without --app; settings beside "apps" are refused', async () => {
    expect((await loadStartSpec([], project({ 'cluster2.config.json': { apps: [{ script: 'app.js', timeout: 5 }] } }))).options).toEqual({ timeout: 5 });
    expect(await failure(loadStartSpec([], project({ 'cluster2.config.json': { noWorkers: 2, apps: [{ script: 'app.js' }] } })))).toMatchObject({
      code: 'ERR_CLUSTER2_UNKNOWN_OPTION',
      message: expect.stringMatching(/"noWorkers" beside "apps"/),
    });
  });

  it('--app without an apps config is ERR_CLUSTER2_USAGE', async () => {
    expect((await failure(loadStartSpec(['app.js', '--app', 'web'], project()))).code).toBe('ERR_CLUSTER2_USAGE');
    expect((await failure(loadStartSpec(['--app', 'web'], project({ 'cluster2.config.json': { script: 'app.js' } })))).code).toBe('ERR_CLUSTER2_USAGE');
  });
});

describe('env files', () => {
  it('reads KEY=VAL lines with comments, export prefixes, quotes, escapes and empty values', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=yes',
      '  SPACED = around  ',
      'EMPTY=',
      'TRAILING=kept # a comment after a space',
      'HASH=a#b',
      "SINGLE='raw \\n $HOME # not a comment'",
      'DOUBLE="line1\\nline2 \\"quoted\\""',
      'MULTI="first',
      'second"',
      'EQUALS=a=b=c',
    ].join('\n');
    expect(parseEnvText(text, '.env')).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'around',
      EMPTY: '',
      TRAILING: 'kept',
      HASH: 'a#b',
      SINGLE: 'raw \\n $HOME # not a comment',
      DOUBLE: 'line1\nline2 "quoted"',
      MULTI: 'first\nsecond',
      EQUALS: 'a=b=c',
    });
  });

  it('a line that is no assignment, or an unclosed quote, is an error naming the file and line', () => {
    expect(() => parseEnvText('A=1\nnot an assignment\n', '/app/.env')).toThrow(
      expect.objectContaining({ code: 'ERR_CLUSTER2_INVALID_OPTION', message: 'env file /app/.env, line 2: expected KEY=VALUE; received "not an assignment"' }),
    );
    expect(() => parseEnvText('A="open\nB=2', '.env')).toThrow(/line 1: A's value has no closing "/);
  });

  it('an env file that cannot be read is ERR_CLUSTER2_INVALID_OPTION naming the path', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['app.js', '--env-file', 'missing.env'], dir))).toMatchObject({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: expect.stringContaining(`option "envFile" must name a readable dotenv file; cannot read ${path.join(dir, 'missing.env')}`),
    });
  });
});
