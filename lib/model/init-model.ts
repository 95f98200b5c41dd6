// initModel: writes a complete, seeded Hugging Face model directory (config.json, model.safetensors,
// the built-in byte-level BPE tokenizer) that glam, transformers and ONNX exporters all load.
// It is how the built-in small model and the benchmark models are made, with no download.
// Subtle: initialisation mirrors transformers' _init_weights (normal(0, 0.02) for matrices and
// embeddings, ones for norm weights, zeros for biases), drawn from our seeded Rng, so a seed fixes
// every byte of the file.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { Rng } from '../util/rng.js';
import { GlamError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parseModelConfig } from '../io/model-config.js';
import { writeSafetensors, type StoredTensor } from '../io/safetensors.js';
import { t5ConfigJson } from '../io/t5-config.js';
import { t5HeadTensor, t5Tensors } from '../io/t5-weights.js';
import { iterExpectedTensors } from '../io/weights.js';
import { TextTokenizer } from '../policy/tokenizer.js';
import { packageRoot } from '../util/package-root.js';

export type InitArch = 'llama' | 'qwen2' | 'mistral' | 'gpt2' | 't5';

export interface InitModelOptions {
  arch: InitArch;
  layers: number;
  hidden: number;
  heads: number;
  /** Key/value heads (llama family; default = heads). */
  kvHeads?: number;
  /** MLP width (default: 4·hidden for gpt2, 2·hidden for t5 (Flan-T5-small's ratio), about 8/3·hidden rounded to 32 for the llama family). */
  intermediate?: number;
  /** Vocabulary size (default: the built-in tokenizer's). */
  vocab?: number;
  maxPositions?: number;
  seed?: number;
  /** Head size (t5's d_kv; default hidden / heads, which must then divide). */
  headDim?: number;
  /** Tie the LM head to the embeddings (default: true for gpt2 and qwen2, false otherwise). */
  tie?: boolean;
}

/** The built-in tokenizer's directory, shipped in the package. */
export function builtinTokenizerDir(): string {
  return join(packageRoot(), 'assets', 'tokenizer');
}

/** The built-in tokenizer's vocabulary size, read from its tokenizer.json. */
export function builtinVocabSize(): number {
  return TextTokenizer.load(builtinTokenizerDir()).vocabSize;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new GlamError('InvalidArgument', `Expected an integer >= ${min} for ${name} but received ${String(v)}`);
  }
}

/** The config.json transformers expects for these options. */
export function initConfig(o: InitModelOptions): Record<string, unknown> {
  checkInt('layers', o.layers, 1);
  checkInt('hidden', o.hidden, 2);
  checkInt('heads', o.heads, 1);
  if (o.hidden % o.heads !== 0 && !(o.arch === 't5' && o.headDim !== undefined)) throw new GlamError('InvalidArgument', `hidden (${o.hidden}) must be a multiple of heads (${o.heads})`);
  const vocab = o.vocab ?? builtinVocabSize();
  const maxPositions = o.maxPositions ?? 1024;
  checkInt('vocab', vocab, 2);
  checkInt('maxPositions', maxPositions, 2);
  if (o.arch === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: vocab, n_embd: o.hidden, n_layer: o.layers,
      n_head: o.heads, n_positions: maxPositions, n_inner: o.intermediate ?? null, activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5, bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: o.tie ?? true, torch_dtype: 'float32',
    };
  }
  if (o.arch === 't5') {
    // T5 v1.1 / Flan-T5's layout: gated-gelu, untied head (no rescale), as many decoder as encoder layers
    return {
      architectures: ['T5ForConditionalGeneration'], model_type: 't5', vocab_size: vocab, d_model: o.hidden, d_kv: o.headDim ?? o.hidden / o.heads,
      d_ff: o.intermediate ?? 2 * o.hidden, num_layers: o.layers, num_decoder_layers: o.layers, num_heads: o.heads,
      relative_attention_num_buckets: 32, relative_attention_max_distance: 128, feed_forward_proj: 'gated-gelu', dense_act_fn: 'gelu_new',
      is_gated_act: true, layer_norm_epsilon: 1e-6, dropout_rate: 0.1, initializer_factor: 1.0, is_encoder_decoder: true,
      tie_word_embeddings: false, decoder_start_token_id: 0, pad_token_id: 0, eos_token_id: 0, use_cache: true, torch_dtype: 'float32',
    };
  }
  const kv = o.kvHeads ?? o.heads;
  checkInt('kvHeads', kv, 1);
  if (o.heads % kv !== 0) throw new GlamError('InvalidArgument', `heads (${o.heads}) must be a multiple of kvHeads (${kv})`);
  if ((o.hidden / o.heads) % 2 !== 0) throw new GlamError('InvalidArgument', 'hidden / heads must be even for RoPE');
  const inter = o.intermediate ?? Math.ceil((8 * o.hidden) / 3 / 32) * 32;
  const arch = { llama: ['LlamaForCausalLM', 'llama'], qwen2: ['Qwen2ForCausalLM', 'qwen2'], mistral: ['MistralForCausalLM', 'mistral'] }[o.arch];
  if (!arch) throw new GlamError('InvalidArgument', `unknown arch '${String(o.arch)}'; use llama, qwen2, mistral, gpt2 or t5`);
  return {
    architectures: [arch[0]], model_type: arch[1], vocab_size: vocab, hidden_size: o.hidden, intermediate_size: inter,
    num_hidden_layers: o.layers, num_attention_heads: o.heads, num_key_value_heads: kv, max_position_embeddings: maxPositions,
    rms_norm_eps: 1e-5, rope_theta: 10000.0, hidden_act: 'silu', tie_word_embeddings: o.tie ?? o.arch === 'qwen2',
    bos_token_id: 0, eos_token_id: 0, torch_dtype: 'float32',
    ...(o.arch === 'llama' ? { attention_bias: false, mlp_bias: false } : {}),
    ...(o.arch === 'mistral' ? { sliding_window: null } : {}),
    ...(o.arch === 'qwen2' ? { use_sliding_window: false } : {}),
  };
}

/** Writes the model directory `out`. */
export function initModel(out: string, o: InitModelOptions): void {
  const raw = initConfig(o);
  const cfg = parseModelConfig(raw, join(out, 'config.json'));
  const rng = new Rng(o.seed ?? 0);
  const gauss = (): number => {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const tensors: Record<string, StoredTensor> = {};
  const inventory = cfg.family === 't5'
    ? [...t5Tensors(cfg), t5HeadTensor(cfg)]
    : iterExpectedTensors(cfg);
  for (const t of inventory) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = /(norm|ln_\d|ln_f)\.weight$/.test(t.name);
    if (isNorm) data.fill(1);
    else if (t.shape.length > 1) for (let i = 0; i < n; ++i) data[i] = 0.02 * gauss();
    tensors[t.name] = { dtype: 'F32', shape: t.shape, data: new Uint8Array(data.buffer) };
  }
  mkdirSync(out, { recursive: true });
  writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
  const tok = builtinTokenizerDir();
  copyFileSync(join(tok, 'tokenizer.json'), join(out, 'tokenizer.json'));
  copyFileSync(join(tok, 'tokenizer_config.json'), join(out, 'tokenizer_config.json'));
  writeFileAtomic(join(out, 'config.json'), cfg.family === 't5' ? t5ConfigJson(raw) : JSON.stringify(raw, null, 2) + '\n');
}
