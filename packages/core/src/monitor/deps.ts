import fs from 'node:fs/promises';
import path from 'node:path';

/** One dependency the app declares, with what is installed. */
export interface DependencyInfo {
  name: string;
  /** The range in package.json. */
  wanted: string;
  /** Version in `node_modules/<name>/package.json`; null when not installed. */
  installed: string | null;
  /** Declared in devDependencies. */
  dev: boolean;
}

/** What `GET /api/deps` answers. */
export interface DependencyReport {
  /** The app's package name and version (null without a readable package.json). */
  name: string | null;
  version: string | null;
  dependencies: DependencyInfo[];
}

// npm's name rules, loosely: keeps a hostile package.json from steering reads out of node_modules.
const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/i;

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function ranges(value: unknown): Array<[string, string]> {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string' && PACKAGE_NAME.test(entry[0]),
  );
}

/** Version installed under `appRoot/node_modules`, or null. */
async function installedVersion(appRoot: string, name: string): Promise<string | null> {
  const manifest = await readJson(path.join(appRoot, 'node_modules', name, 'package.json'));
  return stringOrNull(manifest?.version);
}

/**
 * The app's dependencies and devDependencies (sorted by name) with installed versions.
 * A missing or unreadable package.json gives an empty report, not an error: the monitor
 * also runs for apps started from a directory without one.
 */
export async function readDependencies(appRoot: string): Promise<DependencyReport> {
  const manifest = await readJson(path.join(appRoot, 'package.json'));
  if (manifest === null) return { name: null, version: null, dependencies: [] };
  const declared = [
    ...ranges(manifest.dependencies).map(([name, wanted]) => ({ name, wanted, dev: false })),
    ...ranges(manifest.devDependencies).map(([name, wanted]) => ({ name, wanted, dev: true })),
  ];
  const dependencies = await Promise.all(declared.map(async (dep) => ({ ...dep, installed: await installedVersion(appRoot, dep.name) })));
  dependencies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(a.dev) - Number(b.dev)));
  return { name: stringOrNull(manifest.name), version: stringOrNull(manifest.version), dependencies };
}
