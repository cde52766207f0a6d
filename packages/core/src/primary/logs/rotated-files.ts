import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

/**
 * Makes room for a new `<live>.1`: every `<live>.N` and `<live>.N.gz` becomes N+1, and those that
 * would pass `keep` are deleted. Plain and gzipped names count alike, so switching gzip on or off
 * between runs keeps the count; a `keep` lowered between runs deletes what is now beyond it.
 */
export async function shiftRotated(live: string, keep: number): Promise<void> {
  const dir = path.dirname(live);
  const base = path.basename(live);
  const rotated = (await fsp.readdir(dir)).flatMap((name) => {
    const match = name.startsWith(`${base}.`) ? /^([1-9]\d*)(\.gz)?$/.exec(name.slice(base.length + 1)) : null;
    return match ? [{ name, index: Number(match[1]), suffix: match[2] ?? '' }] : [];
  });
  // Highest first, so that no rename lands on a name not yet moved out of the way.
  rotated.sort((a, b) => b.index - a.index);
  for (const { name, index, suffix } of rotated) {
    const from = path.join(dir, name);
    if (index >= keep) await unlinkIfThere(from);
    else await fsp.rename(from, path.join(dir, `${base}.${index + 1}${suffix}`));
  }
}

/** `file` → `file.gz`, then `file` removed. On failure the plain file stays, a partial .gz is removed, and the error is thrown. */
export async function gzipFile(file: string): Promise<void> {
  const target = `${file}.gz`;
  try {
    // zlib runs on the thread pool: the master's event loop only moves the chunks.
    await pipeline(fs.createReadStream(file), zlib.createGzip(), fs.createWriteStream(target, { flags: 'wx' }));
  } catch (error) {
    // EEXIST: a .gz of that name is not ours to remove.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await unlinkIfThere(target).catch(() => {});
    throw error;
  }
  await fsp.unlink(file);
}

/** Removes `file`; one already gone is fine. */
export async function unlinkIfThere(file: string): Promise<void> {
  await fsp.unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
