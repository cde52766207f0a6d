import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../cluster.js';
import { DEFAULTS } from '../options.js';
import type { StartSpec } from '../start/spec.js';
import { detachedLogsDir } from './detach.js';
import type { CliIo } from './io.js';

/** Changes closer together than this make one reload (an editor's save is several writes), ms. */
const DEBOUNCE = 300;
/** Never watched: dependencies, version control, and what cluster2 itself writes. */
const IGNORED_SEGMENTS = new Set(['node_modules', '.git']);

/**
 * `cluster2 start --watch`: a rolling reload when a file under the watched paths changes. The
 * reload is the zero-drop one: a save that does not start (a syntax error) fails the reload, the
 * error is shown, and the workers that served before it go on serving.
 */
export function watchForChanges(cluster: Cluster, spec: StartSpec, io: CliIo): void {
  const say = (line: string) => io.stderr.write(`cluster2: ${line}\n`);
  const ownDirs = [spec.options.pids === false ? undefined : (spec.options.pids ?? DEFAULTS.pids), detachedLogsDir(spec.options.logs)]
    .filter((dir) => dir !== undefined)
    .map((dir) => path.resolve(spec.cwd, dir));
  let timer: NodeJS.Timeout | undefined;
  let changed = '';
  const onChange = (root: string, filename: string | null) => {
    if (filename === null) return;
    const file = path.resolve(root, filename);
    if (filename.split(path.sep).some((segment) => IGNORED_SEGMENTS.has(segment))) return;
    if (ownDirs.some((dir) => file === dir || file.startsWith(dir + path.sep))) return;
    changed = path.relative(spec.cwd, file) || file;
    clearTimeout(timer);
    timer = setTimeout(() => {
      say(`${changed} changed: rolling reload`);
      cluster.reload().then(
        () => say('reloaded'),
        (error: Error) => say(`the reload after ${changed} changed failed; the previous workers still serve: ${error.message}`),
      );
    }, DEBOUNCE);
  };
  for (const root of spec.watch || []) {
    const watcher = fs.watch(root, { recursive: true }, (_event, filename) => onChange(root, filename));
    // A watched directory that goes away must not take the master down.
    watcher.on('error', (error) => say(`watching ${root} stopped: ${error.message}`));
    watcher.unref();
  }
  say(`watching ${(spec.watch || []).join(', ')} for changes`);
}
