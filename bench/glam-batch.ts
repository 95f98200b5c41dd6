// GLAM's batch shape and the benchmark models, shared by the benches (importing bench/score.ts would
// run its main()). GLAM's shape: B prompts of 140-160 tokens, K = 6 candidates of 1-3 tokens.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { Rng } from '../lib/util/rng.js';
import { initModel, type InitModelOptions } from '../lib/model/init-model.js';
import type { TokenizedBatch } from '../lib/policy/batch.js';
import { glamHome } from '../lib/policy/default-model.js';
import { packageRoot } from '../lib/util/package-root.js';

/** The shapes of bench/models/<name> (scripts/fixtures/make_bench_models.py writes the same ones). */
export const BENCH_SHAPES: Record<string, InitModelOptions> = {
  'llama-256': { arch: 'llama', layers: 2, hidden: 256, heads: 4, intermediate: 688, seed: 1 },
  'gpt2-small': { arch: 'gpt2', layers: 12, hidden: 768, heads: 12, vocab: 50257, seed: 1 },
  // Flan-T5-small's shape with random weights (bench/score's T5 section): d_model 512, 8 + 8 layers, 6 heads of d_kv 64, d_ff 1024
  'flan-t5-small': { arch: 't5', layers: 8, hidden: 512, heads: 6, headDim: 64, intermediate: 1024, vocab: 32128, seed: 1 },
  // Qwen2-0.5B's shape with random weights (bench/gpu): 24 layers, hidden 896, 14 heads / 2 kv heads, MLP 4864
  // SmolLM2-135M's shape with random weights (bench/gpu, where the real model is not at hand: it is too big to carry)
  'smollm2-135m-shape': { arch: 'llama', layers: 30, hidden: 576, heads: 9, kvHeads: 3, intermediate: 1536, vocab: 49152, tie: true, seed: 1 },
  'qwen2-0.5b': { arch: 'qwen2', layers: 24, hidden: 896, heads: 14, kvHeads: 2, intermediate: 4864, vocab: 151936, maxPositions: 1024, seed: 1 },
};

/** The real pretrained model (bash scripts/fixtures/make_smollm2.sh): $GLAM_SMOLLM2_DIR, else $GLAM_HOME/models/smollm2-135m. */
export const SMOLLM2 = 'smollm2-135m';
export function smollm2Dir(): string {
  return process.env.GLAM_SMOLLM2_DIR ?? join(glamHome(), 'models', SMOLLM2);
}

/** score's and train's default --models: the two bench models, and SmolLM2-135M when it is built (opt-in). */
export function defaultBenchModels(): string {
  if (existsSync(join(smollm2Dir(), 'READY'))) return `llama-256,gpt2-small,${SMOLLM2}`;
  console.log(`${SMOLLM2}: not built at ${smollm2Dir()} (bash scripts/fixtures/make_smollm2.sh; or GLAM_SMOLLM2_DIR): left out`);
  return 'llama-256,gpt2-small';
}

/** bench/models/<name> (smollm2-135m: smollm2Dir()); a missing one is written with initModel (random weights), with a message. */
export function benchModelDir(name: string): string {
  if (name === SMOLLM2) {
    const dir = smollm2Dir();
    if (!existsSync(join(dir, 'READY'))) throw new Error(`${SMOLLM2} is not built at ${dir}: run bash scripts/fixtures/make_smollm2.sh (or set GLAM_SMOLLM2_DIR)`);
    return dir;
  }
  const dir = join(packageRoot(), 'bench', 'models', name);
  if (!existsSync(join(dir, 'config.json'))) {
    const shape = BENCH_SHAPES[name];
    if (!shape) throw new Error(`unknown bench model ${name}; known: ${Object.keys(BENCH_SHAPES).join(', ')}`);
    console.log(`${name}: no model at ${dir}; writing one with init-model (random weights)`);
    initModel(dir, shape);
  }
  return dir;
}

/** B prompts of 140-160 random tokens, each with 6 candidates of 1-3 tokens (seeded). */
export function glamShapedBatch(B: number, vocab: number, seed = 0): TokenizedBatch {
  const rng = new Rng(seed);
  const tok = () => rng.randInt(1, Math.min(vocab, 2000));
  const prompts: number[][] = [];
  const candidates: number[][][] = [];
  for (let b = 0; b < B; ++b) {
    prompts.push(Array.from({ length: rng.randInt(140, 161) }, tok));
    candidates.push(Array.from({ length: 6 }, () => Array.from({ length: rng.randInt(1, 4) }, tok)));
  }
  return { prompts, candidates };
}

/** B prompts of exactly P random tokens, each with K candidates of exactly A tokens (bench/gpu's fixed shapes). */
export function fixedShapeBatch(B: number, P: number, K: number, A: number, vocab: number, seed = 0): TokenizedBatch {
  const rng = new Rng(seed);
  const tok = () => rng.randInt(1, Math.min(vocab, 2000));
  return {
    prompts: Array.from({ length: B }, () => Array.from({ length: P }, tok)),
    candidates: Array.from({ length: B }, () => Array.from({ length: K }, () => Array.from({ length: A }, tok))),
  };
}
