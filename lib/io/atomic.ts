// Atomic file writes: a reader of `path` sees either the old file or the complete new one, never a torn write.
// Subtle: the temp file must live in the same directory (rename(2) is only atomic within one file system);
// the data is fsync'd before the rename and the directory is fsync'd after it, so that a crash cannot leave
// the new name pointing at unwritten blocks. Directory fsync is unsupported on some platforms (Windows: EPERM /
// EISDIR / EINVAL) and is then skipped. On any failure the temp file is removed and a GlamError IoError is thrown.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { GlamError } from '../errors.js';

/** Bytes to write: a string (UTF-8), one buffer, or several buffers written back to back (no concatenation copy). */
export type AtomicData = string | Uint8Array | readonly Uint8Array[];

/** Writes all of `chunk` at the descriptor's position (looping over partial writes). */
export function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) {
    // Chunks of at most 1 GiB: writeSync on a larger view may fail or write partially on some platforms.
    const n = fs.writeSync(fd, chunk, off, Math.min(chunk.length - off, 1 << 30));
    if (n <= 0) throw new Error(`write returned ${n}`);
    off += n;
  }
}

/** Appends `chunk` and fsyncs: a durable log record (JSON lines, TensorBoard events). */
export function appendDurably(fd: number, chunk: Uint8Array): void {
  writeAll(fd, chunk);
  fs.fsyncSync(fd);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `data` to `file` atomically (temp file in the same directory, write, fsync, rename, fsync directory). */
export function writeFileAtomic(file: string, data: AtomicData): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const chunks: readonly Uint8Array[] =
    typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let fd: number | undefined;
  let renamed = false;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    for (const c of chunks) writeAll(fd, c);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    renamed = true;
    fsyncDir(dir);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    if (!renamed) {
      try { fs.rmSync(tmp, { force: true }); } catch { /* best effort */ }
    }
    const e = err as NodeJS.ErrnoException;
    throw new GlamError(
      'IoError',
      `could not write ${file} atomically${renamed ? ' (the file was renamed into place, but syncing its directory failed)' : ''}: ` +
        `${e.code ?? ''} ${e.message}. Check that the directory ${dir} exists, is writable and has free space.`,
      { cause: err },
    );
  }
}
