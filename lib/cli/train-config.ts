// `glam train`'s config from its flags: preset < --config FILE (a PpoConfig JSON, or a run's
// config.json) < flags, the preset being the model's (lib/ppo/preset-choice.ts) unless --preset names one.
// Subtle: --minibatch left to the preset is lowered to the batch (envs × steps) when the batch is
// smaller, so tiny runs need no extra flag; an explicit --minibatch larger than the batch is an error.
import { readFileSync } from 'node:fs';

import { GlamError } from '../errors.js';
import { resolvePpoConfig, type PpoConfigInput, type ResolvedPpoConfig } from '../ppo/config.js';
import { PRESET_NAMES, type PpoPresetName } from '../ppo/presets.js';
import { presetForModel } from '../ppo/preset-choice.js';
import { RUN_FORMAT } from '../ppo/run-dir.js';
import { intFlag, tokenizationFlag } from './io.js';
import type { TrainFlags } from './train.js';

export function floatFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new GlamError('InvalidArgument', `Expected a positive number for --${name} but received '${v}'`);
  return n;
}

function readConfigFile(file: string): PpoConfigInput {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GlamError('ConfigMissing', `--config ${file} does not exist`);
    throw new GlamError('ConfigInvalid', `--config ${file} is not readable JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new GlamError('ConfigInvalid', `--config ${file} must hold a JSON object (PPO config fields)`);
  const obj = raw as Record<string, unknown>;
  const cfg = (obj.format === RUN_FORMAT ? obj.ppo : obj) as Record<string, unknown>;
  const { batchSize: _b, numMinibatches: _m, numUpdates: _u, ...rest } = cfg; // derived: recomputed after the flags
  return rest as PpoConfigInput;
}

function levelId(v: string): string {
  return v.startsWith('BabyAI-') ? v : `BabyAI-${v}-v0`;
}

/** The resolved config from preset < file < flags (see the file comment); the preset is the model's unless --preset names one. */
export function trainConfig(f: TrainFlags): { cfg: ResolvedPpoConfig; preset: PpoPresetName; presetWhy: string; notes: string[] } {
  const chosen = presetForModel(f.model);
  const preset = (f.preset ?? chosen.preset) as PpoPresetName;
  if (!PRESET_NAMES.includes(preset)) throw new GlamError('InvalidArgument', `Expected ${PRESET_NAMES.join(', ')} for --preset but received '${f.preset}'`);
  const presetWhy = f.preset === undefined ? chosen.reason : 'as --preset says';
  const input: Record<string, unknown> = f.config ? { ...readConfigFile(f.config) } : {};
  const set = (k: string, v: unknown) => { if (v !== undefined) input[k] = v; };
  set('level', f.level === undefined ? undefined : levelId(f.level));
  set('totalFrames', intFlag('frames', f.frames));
  set('learningRate', floatFlag('lr', f.lr));
  set('numEnvs', intFlag('envs', f.envs));
  set('numSteps', intFlag('steps', f.steps));
  set('updateEpochs', intFlag('epochs', f.epochs));
  set('minibatchSize', intFlag('minibatch', f.minibatch));
  set('targetKl', floatFlag('target-kl', f.targetKl));
  set('seed', intFlag('seed', f.seed, 0));
  set('tokenization', tokenizationFlag(f.tokenization));
  const notes: string[] = [];
  if (input.minibatchSize === undefined) {
    const base = resolvePpoConfig({ ...input, minibatchSize: 1 }, preset);
    const mb = resolvePpoConfig({}, preset).minibatchSize;
    if (mb > base.batchSize) {
      input.minibatchSize = base.batchSize;
      notes.push(`minibatch ${base.batchSize} (the whole batch; the preset's ${mb} is larger)`);
    }
  }
  return { cfg: resolvePpoConfig(input as PpoConfigInput, preset), preset, presetWhy, notes };
}

