// config.json → ModelConfig: the normalised, validated description of a Hugging Face decoder-only model that the
// native engine receives. Field names and defaults follow transformers' LlamaConfig, Qwen2Config, MistralConfig
// and GPT2Config (checked against transformers 5.x source). Subtle points:
//  - save_pretrained omits some keys equal to the class default, so absent optional keys take the *class* default,
//    which differs per class (tie_word_embeddings: Llama/Qwen2/Mistral false, GPT-2 true; bos/eos: Llama/Mistral
//    1/2, Qwen2 null). Sizes that fix tensor shapes (vocab, hidden, intermediate, layers, heads) are required: a
//    guessed default would only surface later as a confusing shape mismatch;
//  - RoPE comes as legacy `rope_theta` + `rope_scaling` {rope_type | type} or as v5 `rope_parameters`
//    {rope_type, rope_theta}; only "default" and "llama3" are supported, anything else is ConfigInvalid;
//  - Qwen2's sliding window applies only when use_sliding_window is true, and then only to layers
//    >= max_window_layers (or as `layer_types` says): a mix of full and sliding layers cannot be expressed in
//    ModelConfig and is rejected; Mistral's window (class default 4096) applies to every layer;
//  - GPT-2 accepts the attribute_map aliases (hidden_size for n_embd, ...); n_inner null means 4·n_embd;
//  - eos_token_id may be a list (instruct models): eosTokenId is its first element, `raw` keeps the list;
//  - "model_type" must agree with the supported class found in "architectures" (transformers picks the
//    class from model_type): a t5 or bert model_type on a LlamaForCausalLM is ConfigInvalid, not Llama;
//  - a glam run directory's config.json (format glam-run-v1, lib/ppo/run-dir.ts) is not a model: the
//    error points at the run's final/ instead of reporting missing fields.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { GlamError } from '../errors.js';
import { parseT5Config, type T5Fields } from './t5-config.js';

export interface ModelConfig {
  architecture: 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'MistralForCausalLM' | 'GPT2LMHeadModel' | 'T5ForConditionalGeneration';
  family: 'llama' | 'gpt2' | 't5';    // llama = Llama/Qwen2/Mistral block; gpt2 = GPT-2 block; t5 = lib/io/t5-config.ts
  vocabSize: number; hiddenSize: number; intermediateSize: number; numLayers: number;
  numHeads: number; numKvHeads: number; headDim: number; maxPositions: number;
  normEps: number;                     // rms_norm_eps | layer_norm_epsilon
  ropeTheta: number;                   // 0 for gpt2
  ropeScaling: null | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  qkvBias: boolean;                    // Qwen2: true; Llama: attention_bias; GPT-2: true
  oBias: boolean;                      // Llama: attention_bias; Qwen2: false; GPT-2: true
  mlpBias: boolean;                    // Llama: mlp_bias; GPT-2: true
  tieWordEmbeddings: boolean;          // GPT-2: true unless the file says otherwise
  hiddenAct: 'silu' | 'gelu_tanh' | 'gelu' | 'relu';   // gelu_new / gelu_pytorch_tanh -> gelu_tanh; relu: T5 v1.0
  slidingWindow: number | null;        // Mistral/Qwen2 when enabled (use_sliding_window for Qwen2)
  bosTokenId: number | null; eosTokenId: number | null;
  raw: Record<string, unknown>;        // the parsed config.json, for writing back
  t5?: T5Fields;                       // encoder-decoder fields, family t5 only
}

export type Architecture = ModelConfig['architecture'];
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] =
  ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM', 'GPT2LMHeadModel', 'T5ForConditionalGeneration'];
const MODEL_TYPES: Record<string, Architecture> = {
  llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM', gpt2: 'GPT2LMHeadModel',
  t5: 'T5ForConditionalGeneration',
};
const ACTIVATIONS: Record<string, ModelConfig['hiddenAct']> = {
  silu: 'silu', swish: 'silu', gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu_fast: 'gelu_tanh',
};
/** Largest accepted size field: the engine indexes with 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;

/** Typed accessors over the raw JSON; every failure is ConfigInvalid naming the field and the file. */
class Fields {
  constructor(readonly raw: Record<string, unknown>, readonly where: string) {}
  fail(what: string): GlamError {
    return new GlamError('ConfigInvalid', `${this.where}: ${what}. Fix config.json (compare with the model card's original).`);
  }
  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw, key) && this.raw[key] !== undefined;
  }
  /** The first present key among `keys` (aliases), or undefined. */
  pick(keys: readonly string[]): string | undefined {
    return keys.find((k) => this.has(k));
  }
  int(keys: readonly string[], dflt?: number, nullable = false): number {
    const k = this.pick(keys);
    if (k === undefined || (nullable && this.raw[k] === null)) {
      if (dflt === undefined) throw this.fail(`required field "${keys[0]}" is missing`);
      return dflt;
    }
    const v = this.raw[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > MAX_DIM) {
      throw this.fail(`"${k}" must be a positive integer (at most ${MAX_DIM}), got ${JSON.stringify(v)}`);
    }
    return v;
  }
  num(key: string, dflt: number, obj: Record<string, unknown> = this.raw, at = `"${key}"`): number {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) return dflt;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.fail(`${at} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }
  bool(key: string, dflt: boolean): boolean {
    if (!this.has(key)) return dflt;
    const v = this.raw[key];
    if (typeof v !== 'boolean') throw this.fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  str(keys: readonly string[], dflt: string): string {
    const k = this.pick(keys);
    if (k === undefined) return dflt;
    const v = this.raw[k];
    if (typeof v !== 'string') throw this.fail(`"${k}" must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
  /** A token id: non-negative integer, null, or (eos) a non-empty list whose first element is used. */
  tokenId(key: string, dflt: number | null): number | null {
    if (!this.has(key)) return dflt;
    let v = this.raw[key];
    if (Array.isArray(v)) {
      if (v.length === 0) return null;
      v = v[0];
    }
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw this.fail(`"${key}" must be a non-negative integer, a list of them, or null, got ${JSON.stringify(this.raw[key])}`);
    }
    return v;
  }
}

function architectureOf(f: Fields): Architecture {
  const archs = f.raw.architectures;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length === 0 || !archs.every((a) => typeof a === 'string')) {
      throw f.fail(`"architectures" must be a non-empty list of class names, got ${JSON.stringify(archs)}`);
    }
    const found = (archs as string[]).find((a) => (SUPPORTED_ARCHITECTURES as readonly string[]).includes(a));
    if (found === undefined) {
      throw new GlamError('UnsupportedArchitecture',
        `${f.where}: architecture ${archs.join(', ')} is not supported; glam loads ${SUPPORTED_ARCHITECTURES.join(', ')}. ` +
          'Pick a checkpoint of one of these classes.');
    }
    const mt = f.raw.model_type;
    if (mt !== undefined && mt !== null && (typeof mt !== 'string' || MODEL_TYPES[mt] !== found)) {
      // transformers builds the model class from model_type, so the two must agree or the file means two models
      const expected = Object.keys(MODEL_TYPES).find((k) => MODEL_TYPES[k] === found)!;
      throw f.fail(`"model_type" ${JSON.stringify(mt)} contradicts "architectures" ${JSON.stringify(archs)}, whose model_type is "${expected}"; ` +
        'transformers would build a different model from this file');
    }
    return found as Architecture;
  }
  const mt = f.raw.model_type;
  if (typeof mt === 'string' && Object.prototype.hasOwnProperty.call(MODEL_TYPES, mt)) return MODEL_TYPES[mt]!;
  if (mt === undefined) throw f.fail('neither "architectures" nor "model_type" is present, so the model class is unknown');
  throw new GlamError('UnsupportedArchitecture',
    `${f.where}: model_type ${JSON.stringify(mt)} is not supported; glam loads ${SUPPORTED_ARCHITECTURES.join(', ')} ` +
      `(model_type ${Object.keys(MODEL_TYPES).join(', ')}).`);
}

function activation(f: Fields, keys: readonly string[], dflt: string): ModelConfig['hiddenAct'] {
  const act = f.str(keys, dflt);
  const a = Object.prototype.hasOwnProperty.call(ACTIVATIONS, act) ? ACTIVATIONS[act] : undefined;
  if (a === undefined) {
    throw f.fail(`activation ${JSON.stringify(act)} is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  return a;
}

function rope(f: Fields): { ropeTheta: number; ropeScaling: ModelConfig['ropeScaling'] } {
  const key = ['rope_parameters', 'rope_scaling'].find((k) => f.has(k) && f.raw[k] !== null) ?? 'rope_scaling';
  const p = f.has(key) ? f.raw[key] : null;
  if (p !== null && (typeof p !== 'object' || Array.isArray(p))) throw f.fail(`"${key}" must be an object or null, got ${JSON.stringify(p)}`);
  const obj = (p ?? {}) as Record<string, unknown>;
  if (Object.values(obj).some((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
    throw f.fail(`per-layer-type "${key}" is not supported; give one rope_type for all layers`);
  }
  const ropeTheta = f.num('rope_theta', f.num('rope_theta', 10000), obj, `"${key}.rope_theta"`);
  const prf = f.num('partial_rotary_factor', f.num('partial_rotary_factor', 1), obj, `"${key}.partial_rotary_factor"`);
  if (prf !== 1) throw f.fail(`partial_rotary_factor ${prf} is not supported (only full rotary embeddings)`);
  const type = obj.rope_type ?? obj.type ?? 'default';
  if (type === 'default') return { ropeTheta, ropeScaling: null };
  if (type !== 'llama3') {
    throw f.fail(`"${key}" type ${JSON.stringify(type)} is not supported; supported rope types are "default" (or no scaling) and "llama3"`);
  }
  const need = (k: string): number => {
    if (!Object.hasOwn(obj, k)) throw f.fail(`"${key}" of type llama3 needs "${k}"`);
    return f.num(k, 0, obj, `"${key}.${k}"`);
  };
  const factor = need('factor');
  const lowFreqFactor = need('low_freq_factor');
  const highFreqFactor = need('high_freq_factor');
  const originalMaxPositions = need('original_max_position_embeddings');
  if (!Number.isSafeInteger(originalMaxPositions)) throw f.fail(`"${key}.original_max_position_embeddings" must be an integer`);
  if (highFreqFactor <= lowFreqFactor) {
    throw f.fail(`"${key}": high_freq_factor (${highFreqFactor}) must be greater than low_freq_factor (${lowFreqFactor})`);
  }
  return { ropeTheta, ropeScaling: { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositions } };
}

function slidingWindow(f: Fields, arch: Architecture, numLayers: number): number | null {
  if (arch === 'MistralForCausalLM') {
    return f.has('sliding_window') && f.raw.sliding_window === null ? null : f.int(['sliding_window'], 4096);
  }
  if (arch !== 'Qwen2ForCausalLM' || !f.bool('use_sliding_window', false)) return null;
  if (f.raw.sliding_window === null) return null;
  const window = f.int(['sliding_window'], 4096);
  let numSliding: number;
  if (f.has('layer_types') && f.raw.layer_types !== null) {
    const lt = f.raw.layer_types;
    if (!Array.isArray(lt) || lt.length !== numLayers || !lt.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw f.fail(`"layer_types" must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers`);
    }
    numSliding = lt.filter((t) => t === 'sliding_attention').length;
  } else {
    // transformers: layer i slides iff i >= max_window_layers.
    const mwl = f.has('max_window_layers') ? f.raw.max_window_layers : 28;
    if (typeof mwl !== 'number' || !Number.isSafeInteger(mwl) || mwl < 0) {
      throw f.fail(`"max_window_layers" must be a non-negative integer, got ${JSON.stringify(mwl)}`);
    }
    numSliding = Math.max(0, numLayers - mwl);
  }
  if (numSliding === numLayers) return window;
  if (numSliding === 0) return null;
  throw f.fail('sliding-window attention on only some layers (use_sliding_window with max_window_layers < num_hidden_layers, ' +
    'or mixed layer_types) is not supported; glam applies one attention kind to all layers');
}

/** Validates and normalises a parsed config.json; `where` names its origin in error messages. */
export function parseModelConfig(json: unknown, where: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GlamError('ConfigInvalid', `${where}: config.json must be a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}.`);
  }
  const raw = json as Record<string, unknown>;
  const f = new Fields(raw, where);
  const architecture = architectureOf(f);
  if (architecture === 'T5ForConditionalGeneration') return parseT5Config(raw, where);
  const gpt2 = architecture === 'GPT2LMHeadModel';

  // Sizes that fix tensor shapes are required (save_pretrained always writes them); the rest default as in HF.
  const vocabSize = f.int(['vocab_size']);
  const hiddenSize = f.int(gpt2 ? ['n_embd', 'hidden_size'] : ['hidden_size']);
  const numLayers = f.int(gpt2 ? ['n_layer', 'num_hidden_layers'] : ['num_hidden_layers']);
  const numHeads = f.int(gpt2 ? ['n_head', 'num_attention_heads'] : ['num_attention_heads']);
  const maxPositions = f.int(gpt2 ? ['n_positions', 'max_position_embeddings'] : ['max_position_embeddings'],
    { LlamaForCausalLM: 2048, Qwen2ForCausalLM: 32768, MistralForCausalLM: 131072, GPT2LMHeadModel: 1024 }[architecture]);
  const intermediateSize = gpt2
    ? f.int(['n_inner'], 4 * hiddenSize, true)
    : f.int(['intermediate_size']);
  const numKvHeads = gpt2 ? numHeads : f.int(['num_key_value_heads'], architecture === 'MistralForCausalLM' ? 8 : numHeads, true);
  if (hiddenSize % numHeads !== 0) {
    throw f.fail(`hidden size ${hiddenSize} is not divisible by the number of attention heads ${numHeads}`);
  }
  const headDim = gpt2 ? hiddenSize / numHeads : f.int(['head_dim'], hiddenSize / numHeads, true);
  if (numHeads % numKvHeads !== 0) {
    throw f.fail(`number of attention heads ${numHeads} is not divisible by num_key_value_heads ${numKvHeads}`);
  }
  if (!gpt2 && headDim % 2 !== 0) throw f.fail(`head dimension ${headDim} must be even for rotary embeddings`);
  const tieWordEmbeddings = f.bool('tie_word_embeddings', gpt2);

  if (gpt2) {
    for (const [k, bad] of [['scale_attn_by_inverse_layer_idx', true], ['scale_attn_weights', false], ['add_cross_attention', true]] as const) {
      if (f.bool(k, !bad) === bad) throw f.fail(`"${k}": ${bad} is not supported by glam's GPT-2 block`);
    }
    return {
      architecture, family: 'gpt2', vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
      maxPositions, normEps: f.num('layer_norm_epsilon', 1e-5), ropeTheta: 0, ropeScaling: null,
      qkvBias: true, oBias: true, mlpBias: true, tieWordEmbeddings,
      hiddenAct: activation(f, ['activation_function'], 'gelu_new'), slidingWindow: null,
      bosTokenId: f.tokenId('bos_token_id', 50256), eosTokenId: f.tokenId('eos_token_id', 50256), raw,
    };
  }
  const llama = architecture === 'LlamaForCausalLM';
  const attentionBias = llama && f.bool('attention_bias', false);
  const { ropeTheta, ropeScaling } = rope(f);
  return {
    architecture, family: 'llama', vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
    maxPositions, normEps: f.num('rms_norm_eps', 1e-6), ropeTheta, ropeScaling,
    qkvBias: architecture === 'Qwen2ForCausalLM' || attentionBias, oBias: attentionBias,
    mlpBias: llama && f.bool('mlp_bias', false), tieWordEmbeddings,
    hiddenAct: activation(f, ['hidden_act'], 'silu'), slidingWindow: slidingWindow(f, architecture, numLayers),
    bosTokenId: f.tokenId('bos_token_id', architecture === 'Qwen2ForCausalLM' ? null : 1),
    eosTokenId: f.tokenId('eos_token_id', architecture === 'Qwen2ForCausalLM' ? null : 2), raw,
  };
}

/** Reads `<dir>/config.json` and validates it. */
export function readModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw new GlamError('ConfigMissing', `${file} does not exist; a model directory needs config.json (download it with the weights).`, { cause: err });
    }
    throw new GlamError('IoError', `${file}: reading failed: ${e.code ?? ''} ${e.message}. Check the path and its permissions.`, { cause: err });
  }
  let json: unknown;
  try {
    let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    json = JSON.parse(text);
  } catch (err) {
    throw new GlamError('ConfigInvalid', `${file} is not valid UTF-8 JSON (${(err as Error).message}); re-download it.`, { cause: err });
  }
  if (typeof json === 'object' && json !== null && (json as { format?: unknown }).format === 'glam-run-v1') {
    throw new GlamError('ConfigInvalid', `${dir} is a glam training run, not a model directory: pass ${path.join(dir, 'final')} ` +
      `(the run's trained policy) or one of its checkpoints under ${path.join(dir, 'checkpoints')}.`);
  }
  return parseModelConfig(json, file);
}
