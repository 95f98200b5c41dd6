// Where POST /v1/train/save may write, and what its failures answer. The target is a relative path
// under --train-root (no '..', no absolute path, no symlink on the way that leads out: 400
// PathOutsideRoot). A save the user can fix is a 4xx with a stable code and what to do:
//  - 409 SavePathConflict: a name on the way (or the target) exists as a file, or the target is a
//    directory that is not a glam checkpoint (glam replaces only its own checkpoints, atomically);
//  - 403 SaveNotWritable: the server's user may not write there (EACCES, EPERM, EROFS);
//  - 507 InsufficientStorage: the disk or quota is full (ENOSPC, EDQUOT): the server's side, a 5xx;
// anything else stays a 500 (a server fault).
// Subtle: the errno is found on the error or its `cause` chain, since Policy.save wraps file errors
// (IoError from the atomic writers, Internal around a raw rename/mkdir error).
import { existsSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { ServerError } from './http-error.js';

const SAFE_NAME = /^[A-Za-z0-9._-]+$/; // one path component: no separators, no unicode or control characters
const MAX_NAME = 100;
const MAX_DEPTH = 8;
/** Every glam checkpoint holds this file (full and LoRA); a directory without it is someone else's. */
const CHECKPOINT_MARK = 'value_head.safetensors';

/** `dir` resolved under `root`; PathOutsideRoot when it is absolute, climbs out, or a symlink on its way leads out. */
export function confinedPath(root: string, dir: string): string {
  const out = () => new ServerError('PathOutsideRoot', 400,
    `'${dir.slice(0, 100)}' is not a directory under the server's --train-root: pass a relative path of up to ${MAX_DEPTH} names of letters, digits, '.', '_' or '-' (at most ${MAX_NAME} each), such as "ckpt/update-10"`);
  const parts = dir.split('/');
  if (isAbsolute(dir) || parts.length > MAX_DEPTH || !parts.every((p) => SAFE_NAME.test(p) && p.length <= MAX_NAME && p !== '.')) throw out();
  const realRoot = realpathSync(root);
  const target = resolve(realRoot, dir);
  const rel = relative(realRoot, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw out();
  let existing = target; // the deepest part that exists must really be inside the root
  while (!existsSync(existing)) existing = dirname(existing);
  const real = realpathSync(existing);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw out();
  return target;
}

/** The checked target of a save of `dir` under `root`, its parent directories made. */
export function saveTarget(root: string, dir: string): string {
  const target = confinedPath(root, dir);
  const shown = dir.slice(0, 100);
  const rel = relative(realpathSync(root), target).split(sep);
  for (let i = 1; i <= rel.length; ++i) { // the first name on the way that exists but is not a directory
    const p = join(realpathSync(root), ...rel.slice(0, i));
    if (existsSync(p) && !statSync(p).isDirectory()) {
      throw conflict(`'${rel.slice(0, i).join('/')}' exists under --train-root as a file, not a directory, so '${shown}' cannot be saved there: choose another name, or remove that file`);
    }
  }
  if (existsSync(target) && readdirSync(target).length > 0 && !existsSync(join(target, CHECKPOINT_MARK))) {
    throw conflict(`'${shown}' under --train-root is a directory with other files (not a glam checkpoint, which glam would replace): choose a new name`);
  }
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (e) {
    throw saveFailure(e, dir);
  }
  return target;
}

/** The answer to a failed save of `dir`: a 4xx for what the user can fix, the error itself otherwise. */
export function saveFailure(e: unknown, dir: string): unknown {
  const code = errnoOf(e);
  const shown = dir.slice(0, 100);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ServerError('SaveNotWritable', 403, `the server may not write '${shown}' under --train-root (${code}): save to a directory the server's user can write, or fix its permissions`);
  }
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
    return conflict(`'${shown}' collides with an existing file or directory under --train-root (${code}): choose another name`);
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ServerError('InsufficientStorage', 507, `no space left to save '${shown}' (${code}): the server's disk or quota is full; free space on it and save again`);
  }
  return e;
}

function conflict(message: string): ServerError {
  return new ServerError('SavePathConflict', 409, message);
}

/** The first errno code ('EACCES', ...) on e or its cause chain. */
function errnoOf(e: unknown): string | undefined {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, ++depth) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === 'string' && /^E[A-Z]+$/.test(c)) return c;
  }
  return undefined;
}
