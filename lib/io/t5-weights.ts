// The T5ForConditionalGeneration weight inventory (Hugging Face names and shapes) and resolveT5Weights, which checks a
// loaded checkpoint against it and returns exactly the tensors the engine reads (native/model/t5_weights.cpp).
// Subtle points (transformers 5.23's loading rules):
//  - the embedding is "shared.weight"; checkpoints that store only the stacks' copies give "encoder.embed_tokens.weight";
//  - the head: a stored "lm_head.weight" is used when the config says tie_word_embeddings: false (v1.1, Flan-T5; then
//    it is required) or when it differs from the embedding (transformers then unties them; transformers 5 writes
//    tie_word_embeddings: true even for Flan-T5 fine-tunes); otherwise the embedding is the head;
//  - only block 0 of each stack owns relative_attention_bias (later blocks reuse it); the decoder's cross attention
//    never has one (a stored one is ignored, as transformers does), nor do the stacks' embed_tokens copies.

import { GlamError } from '../errors.js';
import type { ModelConfig } from './model-config.js';
import { isWeightDtype, WEIGHT_DTYPES, type StoredTensor, type Tensor } from './safetensors-format.js';
import type { ExpectedTensor } from './weights.js';

function* blockTensors(cfg: ModelConfig, p: string, dec: boolean): Generator<ExpectedTensor> {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, headDim: D } = cfg;
  const HD = H * D;
  yield { name: `${p}layer.0.layer_norm.weight`, shape: [C] };
  for (const m of ['q', 'k', 'v']) yield { name: `${p}layer.0.SelfAttention.${m}.weight`, shape: [HD, C] };
  yield { name: `${p}layer.0.SelfAttention.o.weight`, shape: [C, HD] };
  if (dec) {
    yield { name: `${p}layer.1.layer_norm.weight`, shape: [C] };
    for (const m of ['q', 'k', 'v']) yield { name: `${p}layer.1.EncDecAttention.${m}.weight`, shape: [HD, C] };
    yield { name: `${p}layer.1.EncDecAttention.o.weight`, shape: [C, HD] };
  }
  const ff = `${p}layer.${dec ? 2 : 1}.`;
  yield { name: `${ff}layer_norm.weight`, shape: [C] };
  for (const wi of cfg.t5!.gatedAct ? ['wi_0', 'wi_1'] : ['wi']) yield { name: `${ff}DenseReluDense.${wi}.weight`, shape: [I, C] };
  yield { name: `${ff}DenseReluDense.wo.weight`, shape: [C, I] };
}

/** The tensors a T5 config needs (without lm_head.weight: see resolveT5Weights), in load order. */
export function* t5Tensors(cfg: ModelConfig): Generator<ExpectedTensor> {
  const t5 = cfg.t5!;
  const bias = [t5.relativeAttentionNumBuckets, cfg.numHeads];
  yield { name: 'shared.weight', shape: [cfg.vocabSize, cfg.hiddenSize] };
  for (let i = 0; i < cfg.numLayers; i++) {
    if (i === 0) yield { name: 'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', shape: bias };
    yield* blockTensors(cfg, `encoder.block.${i}.`, false);
  }
  yield { name: 'encoder.final_layer_norm.weight', shape: [cfg.hiddenSize] };
  for (let i = 0; i < t5.numDecoderLayers; i++) {
    if (i === 0) yield { name: 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', shape: bias };
    yield* blockTensors(cfg, `decoder.block.${i}.`, true);
  }
  yield { name: 'decoder.final_layer_norm.weight', shape: [cfg.hiddenSize] };
}

function sameBytes(a: StoredTensor, b: StoredTensor): boolean {
  if (a.dtype !== b.dtype || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Checks every tensor a T5 config needs (shape, dtype) and returns exactly those, plus lm_head.weight when it is the head. */
export function resolveT5Weights(cfg: ModelConfig, tensors: Map<string, StoredTensor>, where = 'the checkpoint'): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const take = (name: string, shape: number[], stored: StoredTensor | undefined): void => {
    if (stored === undefined) {
      throw new GlamError('TensorMissing',
        `tensor "${name}" (shape [${shape.join(', ')}]) required by T5ForConditionalGeneration is not in ${where}. ` +
          'The weights do not match config.json (check num_layers, num_decoder_layers, feed_forward_proj, tie_word_embeddings) or are incomplete.');
    }
    const file = stored.file ?? where;
    if (stored.shape.length !== shape.length || stored.shape.some((d, k) => d !== shape[k])) {
      throw new GlamError('TensorShapeMismatch',
        `tensor "${name}" in ${file}: config.json implies shape [${shape.join(', ')}] but the file has [${stored.shape.join(', ')}]. ` +
          'The weights belong to a different model size or config.json was edited.');
    }
    if (!isWeightDtype(stored.dtype)) {
      throw new GlamError('TensorDtypeUnsupported',
        `tensor "${name}" in ${file} has dtype ${stored.dtype}; glam computes with ${WEIGHT_DTYPES.join(', ')}.`);
    }
    out.set(name, { dtype: stored.dtype, shape: stored.shape, data: stored.data });
  };
  for (const { name, shape } of t5Tensors(cfg)) {
    const stored = tensors.get(name) ?? (name === 'shared.weight' ? tensors.get('encoder.embed_tokens.weight') : undefined);
    take(name, shape, stored);
  }
  const head = tensors.get('lm_head.weight');
  const shared = tensors.get('shared.weight') ?? tensors.get('encoder.embed_tokens.weight');
  if (!cfg.tieWordEmbeddings || (head !== undefined && shared !== undefined && !sameBytes(head, shared))) {
    take('lm_head.weight', [cfg.vocabSize, cfg.hiddenSize], head);
  }
  return out;
}
