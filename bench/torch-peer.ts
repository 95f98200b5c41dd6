// The PyTorch peers of the benches (bench/train_torch.py, bench/t5_lamorel.py): which Python has torch +
// transformers, and one call of a peer script through a JSON file in and a JSON file out.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageRoot } from '../lib/util/package-root.js';

/** The Python that has torch + transformers ($GLAM_TORCH_PYTHON, else the fixtures' venvs, else python3), or why there is none. */
export function findTorchPython(): { python?: string; why?: string } {
  const venvs = ['.venv', '.venv-smollm2'].map((v) => join(packageRoot(), 'scripts', 'fixtures', v, 'bin', 'python'));
  const python = process.env.GLAM_TORCH_PYTHON ?? venvs.find((v) => existsSync(v)) ?? 'python3';
  const r = spawnSync(python, ['-c', 'import torch, transformers'], { encoding: 'utf8' });
  if (r.status === 0) return { python };
  const err = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
  return { why: `${python}: ${err}` };
}

/** Runs bench/<script> with `--batch <input.json> --out <out.json>` plus args; returns the parsed output. */
export function runTorchPeer<T>(python: string, script: string, input: unknown, args: string[]): T {
  const tmp = mkdtempSync(join(tmpdir(), 'glam-bench-peer-'));
  try {
    const inFile = join(tmp, 'batch.json');
    const out = join(tmp, 'out.json');
    writeFileSync(inFile, JSON.stringify(input));
    const r = spawnSync(python, [join(packageRoot(), 'bench', script), '--batch', inFile, '--out', out, ...args],
      { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench/${script} failed (${r.error?.message ?? `exit ${r.status}`})`);
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
