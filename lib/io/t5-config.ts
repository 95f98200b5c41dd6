// config.json of a T5ForConditionalGeneration (T5 v1.0, v1.1, Flan-T5) → ModelConfig, with every field that
// changes the maths (checked against transformers 5.23's T5Config and modeling_t5.py):
//  - d_kv is the head size and need not be d_model / num_heads; num_decoder_layers defaults to num_layers;
//  - feed_forward_proj "relu" (v1.0: wi → relu → wo) or "gated-gelu" (v1.1 / Flan-T5: gelu_new(wi_0 x) * wi_1 x → wo,
//    gelu_new being the tanh approximation); anything else is ConfigInvalid;
//  - the decoder output is multiplied by d_model ** -0.5 before the head when the original config's
//    tie_word_embeddings is not false (v1.0); transformers 5 writes that decision as scale_decoder_outputs (and then
//    always writes tie_word_embeddings: true), which wins when present. Which matrix is the head is the checkpoint's
//    (lib/io/t5-weights.ts): its own lm_head.weight when stored, else the shared embedding;
//  - relative_attention_num_buckets (>= 4: half per direction in the encoder, half of those exact) and
//    relative_attention_max_distance (beyond the decoder's exact buckets), layer_norm_epsilon, decoder_start_token_id;
//  - T5 has no position limit (relative positions): maxPositions is a large bound, not the model's n_positions.

import { GlamError } from '../errors.js';
import type { ModelConfig } from './model-config.js';

/** The encoder-decoder fields of a T5 ModelConfig (ModelConfig.t5). */
export interface T5Fields {
  numDecoderLayers: number;
  relativeAttentionNumBuckets: number;
  relativeAttentionMaxDistance: number;
  decoderStartTokenId: number;
  padTokenId: number;
  /** gated-gelu feed-forward (wi_0, wi_1) rather than relu (wi) */
  gatedAct: boolean;
  /** multiply the decoder output by d_model ** -0.5 before the head (T5 v1.0) */
  scaleDecoderOutputs: boolean;
}

/** T5Config's float fields: transformers 5 rejects an integer there ("initializer_factor": 1), and JSON.parse loses 1.0's point. */
const FLOAT_FIELDS = ['initializer_factor', 'dropout_rate', 'layer_norm_epsilon', 'classifier_dropout'];

/** config.json text for a T5 config object (2-space indent), its float fields written as floats (1 -> 1.0). */
export function t5ConfigJson(raw: Record<string, unknown>): string {
  let text = JSON.stringify(raw, null, 2);
  for (const k of FLOAT_FIELDS) text = text.replace(new RegExp(`("${k}": )(-?\\d+)(,?\n)`), '$1$2.0$3');
  return text + '\n';
}

/** Positions a T5 batch may reach (relative positions: no learned table bounds them). */
export const T5_MAX_POSITIONS = 2 ** 20;

const GATED_GELU = new Set(['gated-gelu', 'gated-gelu_new', 'gated-gelu_pytorch_tanh']);

export function parseT5Config(raw: Record<string, unknown>, where: string): ModelConfig {
  const fail = (what: string) =>
    new GlamError('ConfigInvalid', `${where}: ${what}. Fix config.json (compare with the model card's original).`);
  const int = (key: string, dflt?: number, min = 1): number => {
    const v = raw[key] ?? dflt;
    if (v === undefined) throw fail(`required field "${key}" is missing`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > 2 ** 31 - 1) {
      throw fail(`"${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const vocabSize = int('vocab_size');
  const hiddenSize = int('d_model');
  const numHeads = int('num_heads');
  const headDim = int('d_kv');
  const numLayers = int('num_layers');
  const numDecoderLayers = raw.num_decoder_layers === null ? numLayers : int('num_decoder_layers', numLayers);
  const buckets = int('relative_attention_num_buckets', 32, 4);
  const maxDistance = int('relative_attention_max_distance', 128);
  // the decoder's (causal) side has buckets / 2 exact distances: at or below that, T5's log bucket
  // divides by log(max_distance / exact) <= 0 and gives negative buckets (ops/relative_buckets.h)
  if (maxDistance <= Math.floor(buckets / 2)) {
    throw fail(`relative_attention_max_distance ${maxDistance} must exceed the decoder's exact buckets (${Math.floor(buckets / 2)})`);
  }
  const proj = raw.feed_forward_proj ?? 'relu';
  if (proj !== 'relu' && !GATED_GELU.has(proj as string)) {
    throw fail(`feed_forward_proj ${JSON.stringify(proj)} is not supported; glam runs "relu" (T5 v1.0) and "gated-gelu" (T5 v1.1, Flan-T5)`);
  }
  const gatedAct = proj !== 'relu';
  const eps = raw.layer_norm_epsilon ?? 1e-6;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw fail(`"layer_norm_epsilon" must be a positive number, got ${JSON.stringify(eps)}`);
  const decoderStartTokenId = int('decoder_start_token_id', 0, 0);
  if (decoderStartTokenId >= vocabSize) throw fail(`decoder_start_token_id ${decoderStartTokenId} is outside the vocabulary of ${vocabSize}`);
  const tie = bool('tie_word_embeddings');
  const scaleDecoderOutputs = bool('scale_decoder_outputs') ?? tie !== false;
  const eos = raw.eos_token_id;
  const eosTokenId = Array.isArray(eos) ? (eos[0] as number) ?? null : typeof eos === 'number' ? eos : eos === null ? null : 1;
  return {
    architecture: 'T5ForConditionalGeneration', family: 't5', vocabSize, hiddenSize, intermediateSize: int('d_ff'),
    numLayers, numHeads, numKvHeads: numHeads, headDim, maxPositions: T5_MAX_POSITIONS, normEps: eps,
    ropeTheta: 0, ropeScaling: null, qkvBias: false, oBias: false, mlpBias: false, tieWordEmbeddings: tie !== false,
    hiddenAct: gatedAct ? 'gelu_tanh' : 'relu', slidingWindow: null, bosTokenId: null, eosTokenId,
    t5: {
      numDecoderLayers, relativeAttentionNumBuckets: buckets, relativeAttentionMaxDistance: maxDistance,
      decoderStartTokenId, padTokenId: int('pad_token_id', 0, 0), gatedAct, scaleDecoderOutputs,
    },
    raw,
  };
}
