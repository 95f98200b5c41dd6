// The model shapes the CUDA planning tests size for (cuda-plan.test.ts, cuda-train-plan.test.ts):
// Qwen2-0.5B and GPT-2 small, as lib/io/model-config.ts parses them (the weights are never loaded),
// and the arena's 256-byte alignment (native/cuda/workspace_plan.h kWorkspaceAlign).
import type { ModelConfig } from '../../lib/io/model-config.js';

/** Qwen2-0.5B's shape (random weights in the benchmark). */
export const qwen: ModelConfig = {
  architecture: 'Qwen2ForCausalLM', family: 'llama', vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864,
  numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, maxPositions: 32768, normEps: 1e-6, ropeTheta: 1e6,
  ropeScaling: null, qkvBias: true, oBias: false, mlpBias: false, tieWordEmbeddings: true, hiddenAct: 'silu',
  slidingWindow: null, bosTokenId: null, eosTokenId: null, raw: {},
};

export const gpt2: ModelConfig = {
  ...qwen, architecture: 'GPT2LMHeadModel', family: 'gpt2', vocabSize: 50257, hiddenSize: 768, intermediateSize: 3072,
  numLayers: 12, numHeads: 12, numKvHeads: 12, headDim: 64, maxPositions: 1024, normEps: 1e-5, ropeTheta: 0,
  qkvBias: true, oBias: true, mlpBias: true, hiddenAct: 'gelu_tanh',
};

/** n bytes rounded up to the arena's 256-byte alignment. */
export const align = (n: number) => Math.ceil(n / 256) * 256;
