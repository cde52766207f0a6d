// `cluster2 start`'s input side: flags and config files to a StartSpec. In-process: nothing forks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type ClusterOptions } from '../src/index.js';
import { loadStartSpec, type StartSpec } from '../src/start/spec.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory with `files` written in it (nested paths allowed) and an entry `app.js`. */
function project(files: Record<string, string | object> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster2-start-spec-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries({ 'app.js': '', ...files })) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('expected an error; got none');
}

describe('flags to a StartSpec', () => {
  it('maps every kind of flag: entry, args after --, start flags, integer, enum, switch, negated switch, nested keys', async () => {
    const dir = project({ 'sub/.keep': '' });
    const argv = [
      'app.js',
      '-w',
      '3',
      '--name',
      'api',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      '--cwd',
      'sub',
      '--node-args',
      '--import tsx  --enable-source-maps',
      '--wait-ready',
      '--watch-path',
      'src',
      '--detach',
      '--scheduling',
      'os',
      '--no-pids',
      '--no-monitor',
      '--mon-token',
      'secret',
      '--shutdown-timeout',
      '5000',
      '--restart-max-restarts',
      '4',
      '--limits-sticky-pending',
      '64',
      '--ecv-path',
      '/health',
      '--ecv-control',
      '--',
      'serve',
      '--port',
      '8080',
    ];
    const spec = await loadStartSpec(argv, dir);
    expect(spec).toEqual<StartSpec>({
      script: path.join(dir, 'app.js'),
      args: ['serve', '--port', '8080'],
      name: 'api',
      nodeArgs: ['--import', 'tsx', '--enable-source-maps'],
      env: { A: '1', B: 'x=y' },
      cwd: path.join(dir, 'sub'),
      waitReady: true,
      watch: [path.join(dir, 'src')],
      ecv: true,
      detach: true,
      options: {
        noWorkers: 3,
        scheduling: 'os',
        pids: false,
        monitor: false,
        monToken: 'secret',
        shutdownTimeout: 5000,
        restart: { maxRestarts: 4 },
        limits: { stickyPending: 64 },
        ecv: { path: '/health', control: true },
      },
      configFile: undefined,
    });
  });

  it('defaults with only an entry: no args, no env, invoking cwd, ECV off, options empty (the library defaults)', async () => {
    const dir = project();
    const spec = await loadStartSpec(['app.js'], dir);
    expect(spec).toEqual({
      script: path.join(dir, 'app.js'),
      args: [],
      name: undefined,
      nodeArgs: [],
      env: {},
      cwd: dir,
      waitReady: false,
      watch: false,
      ecv: false,
      detach: false,
      options: {},
      configFile: undefined,
    });
  });

  it('-w max leaves the worker count to the default; --watch watches the app cwd; --ecv alone turns ECV on with its defaults', async () => {
    const dir = project();
    const spec = await loadStartSpec(['app.js', '-w', 'max', '--watch', '--ecv'], dir);
    expect(spec.options).toEqual({ ecv: {} });
    expect(spec.ecv).toBe(true);
    expect(spec.watch).toEqual([dir]);
  });

  it('--sticky keys on the address, --sticky-header on a header (and wins over --sticky); --pids takes a directory', async () => {
    const dir = project();
    expect((await loadStartSpec(['app.js', '--sticky'], dir)).options).toEqual({ sticky: true });
    expect((await loadStartSpec(['app.js', '--sticky', '--sticky-header', 'x-client'], dir)).options).toEqual({ sticky: { header: 'x-client' } });
    expect((await loadStartSpec(['app.js', '--pids', 'run/pids'], dir)).options).toEqual({ pids: 'run/pids' });
  });

  it('an unknown flag, a flag without its value and a second entry are ERR_CLUSTER2_USAGE naming them', async () => {
    const dir = project();
    const unknown = await failure(loadStartSpec(['app.js', '--workerz', '2'], dir));
    expect(unknown.code).toBe('ERR_CLUSTER2_USAGE');
    expect(unknown.message).toMatch(/--workerz/);
    expect(await failure(loadStartSpec(['app.js', '--name'], dir))).toMatchObject({ code: 'ERR_CLUSTER2_USAGE', message: expect.stringMatching(/--name/) });
    expect(await failure(loadStartSpec(['app.js', 'other.js'], dir))).toMatchObject({
      code: 'ERR_CLUSTER2_USAGE',
      message: expect.stringMatching(/one entry file.*"app\.js", "other\.js".*after --/),
    });
    // port, host and cluster are the app's or start mode's own: no flag for them.
    expect((await failure(loadStartSpec(['app.js', '--port', '3000'], dir))).code).toBe('ERR_CLUSTER2_USAGE');
  });

  it('--env without = is ERR_CLUSTER2_INVALID_OPTION showing the word and the form', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['app.js', '--env', 'NODE_ENV'], dir))).toEqual({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: 'option "env" must be KEY=VALUE (as in --env NODE_ENV=production); received "NODE_ENV"',
    });
  });

  it('a number flag that is no integer reaches resolveOptions as the raw string, which names it', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['app.js', '--timeout', '1.5s'], dir))).toEqual({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: 'option "timeout" must be an integer from 1 to 2147483647; received "1.5s"',
    });
  });
});

describe('the entry file', () => {
  it('a missing entry is ERR_CLUSTER2_ENTRY_NOT_FOUND naming its absolute path', async () => {
    const dir = project();
    expect(await failure(loadStartSpec(['nope.js'], dir))).toEqual({
      code: 'ERR_CLUSTER2_ENTRY_NOT_FOUND',
      message: `the app entry ${path.join(dir, 'nope.js')} does not exist or is not a file`,
    });
  });

  it('no entry on the command line nor in a config is ERR_CLUSTER2_USAGE', async () => {
    expect(await failure(loadStartSpec([], project()))).toMatchObject({ code: 'ERR_CLUSTER2_USAGE', message: expect.stringMatching(/entry file/) });
  });

  it('an entry on the command line wins over the config\'s "script"', async () => {
    const dir = project({ 'other.js': '', 'cluster2.config.json': { script: 'other.js' } });
    expect((await loadStartSpec(['app.js'], dir)).script).toBe(path.join(dir, 'app.js'));
    expect((await loadStartSpec([], dir)).script).toBe(path.join(dir, 'other.js'));
  });
});

describe('the same invalid value by flag, config file and library object', () => {
  const cases: Array<[string, string[], ClusterOptions]> = [
    ['shutdownTimeout 0', ['--shutdown-timeout', '0'], { shutdownTimeout: 0 }],
    ['restart.maxRestarts -1 (nested, negative)', ['--restart-max-restarts', '-1'], { restart: { maxRestarts: -1 } }],
    ['scheduling "random" (enum)', ['--scheduling', 'random'], { scheduling: 'random' as 'os' }],
    ['noWorkers 0 (-w)', ['-w', '0'], { noWorkers: 0 }],
    ['noWorkers -2 (-w, negative)', ['-w', '-2'], { noWorkers: -2 }],
    ['monPort 70000', ['--mon-port', '70000'], { monPort: 70000 }],
    ['maxRequests "ten" (not a number)', ['--max-requests', 'ten'], { maxRequests: 'ten' as unknown as number }],
    ['ecv.path without its slash', ['--ecv-path', 'health'], { ecv: { path: 'health' } }],
    ['monToken with a space', ['--mon-token', 'two words'], { monToken: 'two words' }],
    ['limits.stickyHeadTimeout 5', ['--limits-sticky-head-timeout', '5'], { limits: { stickyHeadTimeout: 5 } }],
    ['sticky.header "bad header"', ['--sticky-header', 'bad header'], { sticky: { header: 'bad header' } }],
    [
      'maxHeartbeatDelay not above heartbeatInterval',
      ['--heartbeat-interval', '100', '--max-heartbeat-delay', '100'],
      { heartbeatInterval: 100, maxHeartbeatDelay: 100 },
    ],
  ];

  it.each(cases)('%s: one code, one message', async (_name, flags, options) => {
    const library = await failure(() => new Cluster(options));
    expect(library.code).toBe('ERR_CLUSTER2_INVALID_OPTION');
    expect(await failure(loadStartSpec(['app.js', ...flags], project()))).toEqual(library);
    expect(await failure(loadStartSpec(['app.js'], project({ 'cluster2.config.json': options })))).toEqual(library);
  });

  it("the brief's example word for word", async () => {
    expect(await failure(loadStartSpec(['app.js', '--shutdown-timeout', '0'], project()))).toEqual({
      code: 'ERR_CLUSTER2_INVALID_OPTION',
      message: 'option "shutdownTimeout" must be an integer from 1 to 2147483647; received 0',
    });
  });

  it('a monitor port of 3000 is fine: the app, not the library default, owns the app port in start mode', async () => {
    expect((await loadStartSpec(['app.js', '--mon-port', '3000'], project())).options).toEqual({ monPort: 3000 });
  });
});
