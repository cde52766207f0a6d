import fs from 'node:fs';
import path from 'node:path';

// O_NOFOLLOW is missing on Windows, where O_EXCL already refuses an existing path.
const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0);

let tempCount = 0;

/** Opens a new file in `dir` for us alone; a name someone else took (EEXIST) is skipped. */
function createTemp(dir: string, name: string): { temp: string; fd: number } {
  for (;;) {
    // Not node:crypto for the name: workers write no pid files but load this module, and must not pay for crypto.
    const temp = path.join(dir, `.${name}.${process.pid}.${Date.now().toString(36)}${(tempCount++).toString(36)}.tmp`);
    try {
      return { temp, fd: fs.openSync(temp, CREATE_NEW, 0o644) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** A file of our own in `dir`: created new (never an existing file or symlink), then filled. */
function writeTemp(dir: string, name: string, content: string): string {
  const { temp, fd } = createTemp(dir, name);
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return temp;
}

/**
 * Writes `dir/name` without following a symlink there: a fresh temporary file is renamed over
 * it, and rename replaces a symlink itself, never its target. Readers see the old content or
 * the new, never half a file. With `exclusive`, the file is only created: false when it exists.
 */
export function writeFileNoFollow(dir: string, name: string, content: string, { exclusive = false } = {}): boolean {
  const temp = writeTemp(dir, name, content);
  try {
    if (!exclusive) {
      fs.renameSync(temp, path.join(dir, name));
      return true;
    }
    try {
      // link() fails with EEXIST on any existing entry, a dangling symlink included.
      fs.linkSync(temp, path.join(dir, name));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    unlinkNoFollow(temp);
  }
}

/**
 * `mkdir -p`. Not fs.mkdirSync's `recursive`, which spins forever where mkdir answers ENOENT under
 * a parent that exists (/proc): here each missing parent is made once and a second ENOENT throws.
 */
export function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (fs.statSync(dir).isDirectory()) return;
      throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' });
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent);
    fs.mkdirSync(dir);
  }
}

/** Throws the system error (EACCES, EROFS, ENOTDIR, …) when no file can be created in `dir`. */
export function probeWritable(dir: string): void {
  unlinkNoFollow(writeTemp(dir, 'probe', ''));
}

/** Removes `file` (a symlink itself, not its target); a file already gone is fine. */
export function unlinkNoFollow(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
