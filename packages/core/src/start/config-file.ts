// Finding and reading the config file of `cluster2 start`, and picking the app it describes.
// What the keys mean and whether their values are right is spec.ts's and resolveOptions' business.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cluster2Error } from '../errors.js';

/** Looked for in the invoking directory, in this order. */
export const CONFIG_FILE_NAMES: readonly string[] = Object.freeze(['cluster2.config.json', 'cluster2.config.mjs', 'cluster2.config.cjs']);

export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  /** The settings of the one app to start (the file's top level, or the chosen entry of `apps`). */
  app: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function configInvalid(file: string, cause: string, error?: unknown): Cluster2Error {
  return new Cluster2Error('ERR_CLUSTER2_CONFIG_INVALID', `config file ${file}: ${cause}`, error === undefined ? undefined : { cause: error });
}

/** `--config <file>` (relative to `cwd`), else the one cluster2.config.* in `cwd`, else none. */
export function findConfigFile(cwd: string, explicit: string | undefined): string | undefined {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!fs.existsSync(file)) throw configInvalid(file, 'no such file (given with --config)');
    return file;
  }
  const found = CONFIG_FILE_NAMES.map((name) => path.join(cwd, name)).filter((file) => fs.existsSync(file));
  if (found.length > 1) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_CONFIG_AMBIGUOUS',
      `${cwd} holds more than one config file (${found.map((file) => path.basename(file)).join(', ')}); remove all but one, or choose one with --config <file>`,
    );
  }
  return found[0];
}

/** "Unexpected token } in JSON at position 42" (Node 20) gains the line and column Node 22+ print. */
function jsonErrorMessage(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  if (!position || /line \d+/.test(error.message)) return error.message;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${error.message} (line ${line} column ${column})`;
}

async function readConfigValue(file: string): Promise<unknown> {
  const extension = path.extname(file);
  if (extension === '.json') {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw configInvalid(file, (error as Error).message, error);
    }
    try {
      return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    } catch (error) {
      throw configInvalid(file, `not valid JSON: ${jsonErrorMessage(text, error as Error)}`, error);
    }
  }
  if (!['.mjs', '.cjs', '.js'].includes(extension)) {
    throw configInvalid(file, 'a config file must end in .json, .mjs, .cjs or .js');
  }
  try {
    const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    const exported = module.default;
    // A function lets the file compute its config (read the environment, await a secret store).
    return typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  } catch (error) {
    throw configInvalid(file, `loading it threw: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/** The entry of `apps` that `--app` names; the only one when there is one. */
function pickApp(file: string, apps: unknown, wanted: string | undefined): Record<string, unknown> {
  if (!Array.isArray(apps) || apps.length === 0) throw configInvalid(file, '"apps" must be a non-empty array of app settings');
  apps.forEach((app, i) => {
    if (!isPlainObject(app)) throw configInvalid(file, `apps[${i}] must be an object of app settings`);
  });
  const list = apps as Record<string, unknown>[];
  const names = list.map((app, i) => (typeof app.name === 'string' ? app.name : `apps[${i}] (no name)`));
  if (wanted === undefined) {
    if (list.length === 1) return list[0]!;
    throw new Cluster2Error('ERR_CLUSTER2_USAGE', `${file} describes ${list.length} apps (${names.join(', ')}); choose one with --app <name>`);
  }
  const chosen = list.filter((app) => app.name === wanted);
  if (chosen.length !== 1) {
    const problem = chosen.length === 0 ? 'has no app named' : 'has more than one app named';
    throw new Cluster2Error('ERR_CLUSTER2_USAGE', `${file} ${problem} ${JSON.stringify(wanted)}; its apps are: ${names.join(', ')}`);
  }
  return chosen[0]!;
}

/** Reads `file` and returns the settings of the app to start. */
export async function loadConfigFile(file: string, wantedApp: string | undefined): Promise<LoadedConfig> {
  const value = await readConfigValue(file);
  if (!isPlainObject(value)) {
    throw configInvalid(
      file,
      `its content (or default export) must be an object of settings; received ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  if (value.apps === undefined) {
    if (wantedApp !== undefined) throw new Cluster2Error('ERR_CLUSTER2_USAGE', `--app ${wantedApp}: ${file} has no "apps" array`);
    return { file, app: value };
  }
  const others = Object.keys(value).filter((key) => key !== 'apps' && key !== '$schema');
  if (others.length > 0) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_UNKNOWN_OPTION',
      `unknown option "${others[0]}" beside "apps" in ${file}; with "apps", every setting goes inside an app`,
    );
  }
  return { file, app: pickApp(file, value.apps, wantedApp) };
}
