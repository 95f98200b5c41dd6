// Which preset a model gets when none is named: a model glam made from random weights (the built-in
// model, `glam init-model`, or a run trained from one) gets 'small'; any other model — a Hugging Face
// model with its own tokenizer, i.e. a pretrained one — gets 'pretrained' (LoRA, a small learning rate,
// target_kl; lib/ppo/presets.ts says why).
// Subtle: the test is the tokenizer: glam's random models all carry the built-in byte-level BPE
// tokenizer (assets/tokenizer/), byte for byte, and a pretrained model never does. A missing
// tokenizer is not decided here: Policy.load reports it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { builtinTokenizerDir } from '../model/init-model.js';
import type { PpoPresetName } from './presets.js';

export interface PresetChoice {
  preset: PpoPresetName;
  /** Why, for the start line: "made for the built-in model", "made for a pretrained model: it has its own tokenizer", ... */
  reason: string;
}

/** The preset for `modelDir` (undefined: the built-in model). */
export function presetForModel(modelDir: string | undefined): PresetChoice {
  if (modelDir === undefined) return { preset: 'small', reason: 'made for the built-in model' };
  const file = join(modelDir, 'tokenizer.json');
  if (existsSync(file) && readFileSync(file).equals(readFileSync(join(builtinTokenizerDir(), 'tokenizer.json')))) {
    return { preset: 'small', reason: 'made for a model glam initialised: it has the built-in tokenizer' };
  }
  return { preset: 'pretrained', reason: 'made for a pretrained model: it has its own tokenizer' };
}
