// What makes a run directory's saved policies crash-consistent: the manifest that marks a checkpoint
// complete, the staged save that writes one, and the sweep of what killed saves leave behind.
//
//   CKPT/glam_manifest.json   {"format": "glam-checkpoint-v1", "update": n, "frames": f,
//                              "files": [{"name": "model.safetensors", "bytes": 123}, ...]}
//
// Subtle:
// - A checkpoint is written whole under a temporary name next to its target (`.update-7.stage-<pid>`):
//   Policy.save (which writes the tokenizer files the policy read at load, so a resumed run's saves
//   carry them after the checkpoint it resumed from is pruned), then the manifest, written last and fsynced; only then is it renamed into place. So a directory under its
//   real name is complete by construction, and one without a manifest that verifies (every listed file
//   present with its size) is not a checkpoint: resume ignores and removes it.
// - Replacing an existing target (final/ of a run resumed with more frames) takes two renames; the old
//   final/ is first moved to checkpoints/update-<its update> (a complete checkpoint under a new name),
//   so a kill between the renames still leaves a complete checkpoint to resume from.
// - A checkpoint is removed (pruned, or dropped by a resume) by renaming it to a temporary first, so a
//   kill mid-removal never leaves part of one under its real name (removeDir).
// - Temporaries are recognised by name: `.<name>.(stage|tmp|old)-<pid>` (these saves, Policy.save's own)
//   and writeFileAtomic's `.<file>.<pid>.<hex>.tmp`. sweepTemporaries removes them; it is called at the
//   start of a run and after each save, when no save of this run is in flight.
import { existsSync, fsyncSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';
import type { Policy } from '../policy/policy.js';

export const MANIFEST_FILE = 'glam_manifest.json';
export const MANIFEST_FORMAT = 'glam-checkpoint-v1';

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly update: number;
  readonly frames: number;
  readonly files: readonly { readonly name: string; readonly bytes: number }[];
}

const TEMPORARY = [/^\..+\.(stage|tmp|old)-\d+$/, /^\..+\.\d+\.[0-9a-f]+\.tmp$/];

/** True for the names of temporaries a killed save or atomic write leaves. */
export function isTemporary(name: string): boolean {
  return TEMPORARY.some((re) => re.test(name));
}

/** Removes the temporaries directly under each of `dirs`; returns their names. */
export function sweepTemporaries(dirs: readonly string[]): string[] {
  const removed: string[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (!isTemporary(name)) continue;
      rmSync(join(d, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/**
 * Removes a directory so that no kill leaves part of it under its name: it is renamed to a temporary
 * first (swept later if the removal is cut short).
 */
export function removeDir(dir: string): void {
  if (!existsSync(dir)) return;
  const aside = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
  rmSync(aside, { recursive: true, force: true });
  renameSync(dir, aside);
  rmSync(aside, { recursive: true, force: true });
}

/** The manifest of `dir` when it verifies (every listed file present with its size), else null. */
export function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
    if (m.format !== MANIFEST_FORMAT || !Number.isSafeInteger(m.update) || !Number.isSafeInteger(m.frames) || !Array.isArray(m.files)) return null;
    for (const f of m.files) {
      const p = join(dir, f.name);
      if (!existsSync(p) || statSync(p).size !== f.bytes) return null;
    }
    return m;
  } catch {
    return null;
  }
}

function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(p, 'r');
    fsyncSync(fd);
  } catch {
    /* directory fsync is unsupported on some platforms */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Saves `policy` as the complete checkpoint `target` (see the file comment): staged, manifest last, renamed into place. `displace(old)` is called with the manifest of
 * an existing complete `target` before it is replaced, and returns where to move it (or null to drop it).
 */
export async function saveComplete(policy: Pick<Policy, 'save'>, target: string, at: { update: number; frames: number },
  displace: (old: Manifest) => string | null = () => null): Promise<void> {
  const parent = dirname(target);
  const stage = join(parent, `.${basename(target)}.stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  await policy.save(stage);
  const files = readdirSync(stage).filter((n) => n !== MANIFEST_FILE).sort().map((name) => {
    fsyncPath(join(stage, name));
    return { name, bytes: statSync(join(stage, name)).size };
  });
  const manifest: Manifest = { format: MANIFEST_FORMAT, update: at.update, frames: at.frames, files };
  writeFileAtomic(join(stage, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  let aside: string | undefined;
  if (existsSync(target)) {
    const old = readManifest(target);
    const to = old ? displace(old) : null;
    if (to !== null && !existsSync(to)) renameSync(target, to);
    else renameSync(target, (aside = join(parent, `.${basename(target)}.old-${process.pid}`)));
  }
  renameSync(stage, target);
  fsyncPath(parent);
  if (aside) rmSync(aside, { recursive: true, force: true });
}
