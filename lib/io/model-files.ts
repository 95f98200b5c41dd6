// The model-file loader: config.json + safetensors (single or sharded) → validated config and exactly the weights
// the engine needs. Everything it throws is a GlamError (the fuzz test in test/io/fuzz.test.ts holds it to that).
// Subtle: the config is read and validated first, so a broken config.json is reported before any weight bytes
// are read; the weights are then read in full (no memory mapping) and checked against the config's inventory.

import { GlamError } from '../errors.js';
import { readModelConfig, type ModelConfig } from './model-config.js';
import { loadSafetensors, type Tensor } from './safetensors.js';
import { resolveT5Weights } from './t5-weights.js';
import { resolveWeights } from './weights.js';

export interface ModelFiles {
  config: ModelConfig;
  weights: Map<string, Tensor>;
}

/** Loads and validates a Hugging Face model directory: readModelConfig + loadSafetensors + resolveWeights. */
export function loadModelFiles(dir: string): ModelFiles {
  if (typeof dir !== 'string' || dir === '') {
    throw new GlamError('InvalidArgument', `loadModelFiles: the model directory must be a non-empty path, got ${JSON.stringify(dir)}.`);
  }
  const config = readModelConfig(dir);
  const stored = loadSafetensors(dir);
  const weights = config.family === 't5' ? resolveT5Weights(config, stored) : resolveWeights(config, stored);
  return { config, weights };
}
