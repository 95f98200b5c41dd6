// The built-in small model: what every command runs on when the user names no model. It is made on
// first use by initModel (no download) under $GLAM_HOME (default ~/.cache/glam).
// Subtle: it is written to a temporary directory and renamed into place, so two processes starting
// at once, or one killed mid-write, never leave a half-written model behind.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { initModel, type InitModelOptions } from '../model/init-model.js';

/** The built-in model's shape: `glam init-model --arch llama --layers 2 --hidden 128 --heads 4`. */
export const BUILTIN_MODEL: InitModelOptions = { arch: 'llama', layers: 2, hidden: 128, heads: 4, kvHeads: 2, seed: 0 };
const NAME = 'builtin-llama-2x128-v1';

export function glamHome(): string {
  return process.env.GLAM_HOME ?? join(homedir(), '.cache', 'glam');
}

/** The built-in model's directory, created if missing. */
export async function defaultModelDir(): Promise<string> {
  const dir = join(glamHome(), 'models', NAME);
  if (existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(join(glamHome(), 'models'), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  initModel(tmp, BUILTIN_MODEL);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'config.json'))) throw e; // another process won the race otherwise
  }
  return dir;
}
