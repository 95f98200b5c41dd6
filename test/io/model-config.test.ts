// config.json parsing: real config.json files from the model cards (copied verbatim, as the hub serves them),
// class defaults for absent keys, RoPE and sliding-window variants, and every error code.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig, type ModelConfig } from '../../lib/io/model-config.js';
import { expectCode, tinyGpt2Config, tinyLlamaConfig, tmpDir } from './helpers.js';

// meta-llama/Llama-3.2-1B
const LLAMA_32_1B = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000,
  eos_token_id: 128001, head_dim: 64, hidden_act: 'silu', hidden_size: 2048, initializer_range: 0.02,
  intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama',
  num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-05,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0',
  use_cache: true, vocab_size: 128256,
};
// Qwen/Qwen2-0.5B
const QWEN2_05B = {
  architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643,
  hidden_act: 'silu', hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 131072,
  max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
  rms_norm_eps: 1e-06, rope_theta: 1000000.0, sliding_window: 131072, tie_word_embeddings: true, torch_dtype: 'bfloat16',
  transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
};
// mistralai/Mistral-7B-v0.1
const MISTRAL_7B = {
  architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: 4096,
  initializer_range: 0.02, intermediate_size: 14336, max_position_embeddings: 32768, model_type: 'mistral',
  num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 8, rms_norm_eps: 1e-05, rope_theta: 10000.0,
  sliding_window: 4096, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.34.0.dev0',
  use_cache: true, vocab_size: 32000,
};
// openai-community/gpt2
const GPT2 = {
  activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], attn_pdrop: 0.1, bos_token_id: 50256,
  embd_pdrop: 0.1, eos_token_id: 50256, initializer_range: 0.02, layer_norm_epsilon: 1e-05, model_type: 'gpt2',
  n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, resid_pdrop: 0.1, summary_activation: null,
  summary_first_dropout: 0.1, summary_proj_to_labels: true, summary_type: 'cls_index', summary_use_proj: true,
  task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } }, vocab_size: 50257,
};

const parse = (json: unknown) => parseModelConfig(json, 'test/config.json');
const without = (o: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

describe('real configs', () => {
  it('Llama-3.2-1B', () => {
    const c = parse(LLAMA_32_1B);
    expect(without(c as unknown as Record<string, unknown>, 'raw')).toEqual({
      architecture: 'LlamaForCausalLM', family: 'llama', vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192,
      numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64, maxPositions: 131072, normEps: 1e-5, ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
      qkvBias: false, oBias: false, mlpBias: false, tieWordEmbeddings: true, hiddenAct: 'silu', slidingWindow: null,
      bosTokenId: 128000, eosTokenId: 128001,
    } satisfies Omit<ModelConfig, 'raw'>);
    expect(c.raw).toBe(LLAMA_32_1B);
  });

  it('Qwen2-0.5B: qkv bias, no o bias, sliding window disabled', () => {
    const c = parse(QWEN2_05B);
    expect(c).toMatchObject({
      architecture: 'Qwen2ForCausalLM', family: 'llama', hiddenSize: 896, numHeads: 14, numKvHeads: 2, headDim: 64,
      intermediateSize: 4864, numLayers: 24, ropeTheta: 1e6, ropeScaling: null, qkvBias: true, oBias: false, mlpBias: false,
      tieWordEmbeddings: true, slidingWindow: null, normEps: 1e-6, bosTokenId: 151643, eosTokenId: 151643,
    });
  });

  it('Mistral-7B-v0.1: sliding window 4096 on all layers', () => {
    expect(parse(MISTRAL_7B)).toMatchObject({
      architecture: 'MistralForCausalLM', numKvHeads: 8, headDim: 128, slidingWindow: 4096, qkvBias: false, oBias: false,
      mlpBias: false, tieWordEmbeddings: false, ropeTheta: 10000, maxPositions: 32768,
    });
    expect(parse({ ...MISTRAL_7B, sliding_window: null }).slidingWindow).toBeNull(); // v0.2+
  });

  it('gpt2', () => {
    expect(without(parse(GPT2) as unknown as Record<string, unknown>, 'raw')).toEqual({
      architecture: 'GPT2LMHeadModel', family: 'gpt2', vocabSize: 50257, hiddenSize: 768, intermediateSize: 3072,
      numLayers: 12, numHeads: 12, numKvHeads: 12, headDim: 64, maxPositions: 1024, normEps: 1e-5, ropeTheta: 0,
      ropeScaling: null, qkvBias: true, oBias: true, mlpBias: true, tieWordEmbeddings: true, hiddenAct: 'gelu_tanh',
      slidingWindow: null, bosTokenId: 50256, eosTokenId: 50256,
    });
  });
});

describe('defaults and variants (transformers class defaults)', () => {
  const minLlama = { architectures: ['LlamaForCausalLM'], vocab_size: 32, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4 };
  it('Llama: kv heads = heads, head_dim = hidden/heads, untied, eps 1e-6, theta 1e4, bos/eos 1/2, no biases', () => {
    expect(parse(minLlama)).toMatchObject({
      numKvHeads: 4, headDim: 4, tieWordEmbeddings: false, normEps: 1e-6, ropeTheta: 10000, maxPositions: 2048,
      bosTokenId: 1, eosTokenId: 2, qkvBias: false, oBias: false, mlpBias: false, hiddenAct: 'silu', slidingWindow: null,
    });
    expect(parse({ ...minLlama, num_key_value_heads: null, head_dim: null })).toMatchObject({ numKvHeads: 4, headDim: 4 });
  });
  it('Llama biases and explicit head_dim', () => {
    expect(parse({ ...minLlama, attention_bias: true, mlp_bias: true, head_dim: 8 })).toMatchObject({ qkvBias: true, oBias: true, mlpBias: true, headDim: 8 });
  });
  it('Qwen2: bos/eos null, untied; Mistral: 8 kv heads, window 4096', () => {
    expect(parse({ ...minLlama, architectures: ['Qwen2ForCausalLM'] })).toMatchObject({ bosTokenId: null, eosTokenId: null, tieWordEmbeddings: false, slidingWindow: null, maxPositions: 32768 });
    expect(parse({ ...minLlama, num_attention_heads: 8, architectures: ['MistralForCausalLM'] })).toMatchObject({ numKvHeads: 8, slidingWindow: 4096, maxPositions: 131072 });
  });
  it('GPT-2: n_inner null -> 4C, tied, gelu_new, attribute_map aliases, untied when the file says so', () => {
    const g = { architectures: ['GPT2LMHeadModel'], vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2 };
    expect(parse(g)).toMatchObject({ intermediateSize: 32, tieWordEmbeddings: true, hiddenAct: 'gelu_tanh', maxPositions: 1024, normEps: 1e-5, bosTokenId: 50256 });
    expect(parse({ architectures: ['GPT2LMHeadModel'], vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, n_inner: 20 }))
      .toMatchObject({ hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 20 });
    expect(parse({ ...g, tie_word_embeddings: false }).tieWordEmbeddings).toBe(false);
    expect(parse({ ...g, activation_function: 'gelu' }).hiddenAct).toBe('gelu');
  });
  it('model_type when architectures is absent', () => {
    expect(parse(without(QWEN2_05B, 'architectures')).architecture).toBe('Qwen2ForCausalLM');
    expect(parse(without(GPT2, 'architectures')).architecture).toBe('GPT2LMHeadModel');
  });
  it('activations: swish -> silu, gelu_pytorch_tanh -> gelu_tanh', () => {
    expect(parse({ ...minLlama, hidden_act: 'swish' }).hiddenAct).toBe('silu');
    expect(parse({ ...minLlama, hidden_act: 'gelu_pytorch_tanh' }).hiddenAct).toBe('gelu_tanh');
  });
  it('eos list: first element', () => {
    expect(parse({ ...LLAMA_32_1B, eos_token_id: [128001, 128008, 128009] }).eosTokenId).toBe(128001);
  });
  it('RoPE: legacy "type", "default", v5 rope_parameters', () => {
    expect(parse({ ...LLAMA_32_1B, rope_scaling: { ...LLAMA_32_1B.rope_scaling, rope_type: undefined, type: 'llama3' } }).ropeScaling?.type).toBe('llama3');
    expect(parse({ ...minLlama, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
    expect(parse({ ...minLlama, rope_scaling: null, rope_theta: 5 }).ropeTheta).toBe(5);
    const v5 = { ...without(LLAMA_32_1B, 'rope_scaling', 'rope_theta'), rope_parameters: { ...LLAMA_32_1B.rope_scaling, rope_theta: 500000.0 } };
    expect(parse(v5)).toMatchObject({ ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 32 } });
    expect(parse({ ...LLAMA_32_1B, rope_parameters: null }).ropeScaling?.type).toBe('llama3');
  });
  it('Qwen2 sliding window: all layers, none, or rejected when mixed', () => {
    const q = { ...QWEN2_05B, use_sliding_window: true, sliding_window: 4096 };
    expect(parse({ ...q, max_window_layers: 0 }).slidingWindow).toBe(4096);
    expect(parse({ ...q, max_window_layers: 24 }).slidingWindow).toBeNull();
    expect(parse({ ...q, layer_types: Array(24).fill('sliding_attention') }).slidingWindow).toBe(4096);
    expectCode(() => parse({ ...q, max_window_layers: 12 }), 'ConfigInvalid', /only some layers/);
  });
});

describe('errors', () => {
  it('ConfigMissing, bad JSON, not UTF-8, BOM accepted', () => {
    const dir = tmpDir('cfg');
    expectCode(() => readModelConfig(dir), 'ConfigMissing', /config\.json/);
    expectCode(() => readModelConfig(path.join(dir, 'nope')), 'ConfigMissing');
    fs.writeFileSync(path.join(dir, 'config.json'), '{"vocab_size": 3,');
    expectCode(() => readModelConfig(dir), 'ConfigInvalid', /not valid UTF-8 JSON/);
    fs.writeFileSync(path.join(dir, 'config.json'), Buffer.from([0x7b, 0xff, 0x7d]));
    expectCode(() => readModelConfig(dir), 'ConfigInvalid');
    fs.writeFileSync(path.join(dir, 'config.json'), '\ufeff' + JSON.stringify(GPT2));
    expect(readModelConfig(dir).architecture).toBe('GPT2LMHeadModel');
  });
  it('IoError when config.json is a directory', () => {
    const dir = tmpDir('cfg');
    fs.mkdirSync(path.join(dir, 'config.json'));
    expectCode(() => readModelConfig(dir), 'IoError');
  });
  it('UnsupportedArchitecture names it and lists the supported ones', () => {
    const e = expectCode(() => parse({ ...LLAMA_32_1B, architectures: ['GemmaForCausalLM'] }), 'UnsupportedArchitecture');
    expect(e.message).toMatch(/GemmaForCausalLM/);
    expect(e.message).toMatch(/LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, GPT2LMHeadModel/);
    expectCode(() => parse({ model_type: 'bert', vocab_size: 3 }), 'UnsupportedArchitecture', /bert/);
  });
  it('a model_type that contradicts architectures is ConfigInvalid naming both (transformers would build the model_type)', () => {
    for (const mt of ['t5', 'bert', 'gpt2', 'qwen2', 3]) {
      const e = expectCode(() => parse({ ...LLAMA_32_1B, model_type: mt }), 'ConfigInvalid', /"model_type" .* contradicts "architectures" \["LlamaForCausalLM"\], whose model_type is "llama"/);
      expect(e.message).toContain(JSON.stringify(mt));
    }
    expectCode(() => parse({ ...GPT2, model_type: 'llama' }), 'ConfigInvalid', /whose model_type is "gpt2"/);
    // agreeing, absent or null model_type loads
    expect(parse({ ...LLAMA_32_1B }).architecture).toBe('LlamaForCausalLM');
    expect(parse(without(LLAMA_32_1B, 'model_type')).architecture).toBe('LlamaForCausalLM');
    expect(parse({ ...QWEN2_05B, model_type: null }).architecture).toBe('Qwen2ForCausalLM');
  });
  it("a glam run directory is not a model: the error points at its final/", () => {
    const dir = tmpDir('run');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ format: 'glam-run-v1', algo: 'ppo', model: '/m', ppo: {} }));
    const e = expectCode(() => readModelConfig(dir), 'ConfigInvalid', /is a glam training run, not a model directory/);
    expect(e.message).toContain(path.join(dir, 'final'));
  });
  const cases: [string, unknown, RegExp][] = [
    ['not an object', [1], /JSON object/],
    ['null', null, /JSON object/],
    ['no architecture', without(tinyLlamaConfig(), 'architectures', 'model_type'), /model class is unknown/],
    ['architectures not a list', { ...tinyLlamaConfig(), architectures: 'LlamaForCausalLM' }, /architectures/],
    ['missing hidden_size', without(tinyLlamaConfig(), 'hidden_size'), /"hidden_size" is missing/],
    ['missing vocab_size', without(tinyGpt2Config(), 'vocab_size'), /"vocab_size" is missing/],
    ['missing n_embd', without(tinyGpt2Config(), 'n_embd'), /"n_embd" is missing/],
    ['string size', tinyLlamaConfig({ hidden_size: '8' }), /"hidden_size" must be a positive integer/],
    ['zero layers', tinyLlamaConfig({ num_hidden_layers: 0 }), /num_hidden_layers/],
    ['negative vocab', tinyLlamaConfig({ vocab_size: -1 }), /vocab_size/],
    ['fractional heads', tinyLlamaConfig({ num_attention_heads: 1.5 }), /num_attention_heads/],
    ['huge size', tinyLlamaConfig({ vocab_size: 2 ** 40 }), /at most/],
    ['heads not dividing hidden', tinyLlamaConfig({ num_attention_heads: 3 }), /not divisible by the number of attention heads/],
    ['kv heads not dividing heads', tinyLlamaConfig({ num_attention_heads: 4, num_key_value_heads: 3 }), /not divisible by num_key_value_heads/],
    ['odd head_dim', tinyLlamaConfig({ head_dim: 5 }), /even/],
    ['gpt2 heads not dividing', tinyGpt2Config({ n_head: 3 }), /not divisible/],
    ['eps zero', tinyLlamaConfig({ rms_norm_eps: 0 }), /rms_norm_eps/],
    ['eps string', tinyGpt2Config({ layer_norm_epsilon: '1e-5' }), /layer_norm_epsilon/],
    ['rope_theta negative', tinyLlamaConfig({ rope_theta: -1 }), /rope_theta/],
    ['bool as string', tinyLlamaConfig({ tie_word_embeddings: 'false' }), /tie_word_embeddings/],
    ['attention_bias number', tinyLlamaConfig({ attention_bias: 1 }), /attention_bias/],
    ['bad activation', tinyLlamaConfig({ hidden_act: 'relu' }), /activation "relu" is not supported/],
    ['activation not string', tinyGpt2Config({ activation_function: 3 }), /activation_function/],
    ['bad token id', tinyLlamaConfig({ bos_token_id: -3 }), /bos_token_id/],
    ['rope linear', tinyLlamaConfig({ rope_scaling: { rope_type: 'linear', factor: 2 } }), /"linear" is not supported.*"default".*"llama3"/],
    ['rope yarn legacy key', tinyLlamaConfig({ rope_scaling: { type: 'yarn', factor: 2 } }), /"yarn"/],
    ['rope not object', tinyLlamaConfig({ rope_scaling: 'llama3' }), /rope_scaling/],
    ['llama3 missing factor', tinyLlamaConfig({ rope_scaling: { rope_type: 'llama3', low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } }), /needs "factor"/],
    ['llama3 low >= high', tinyLlamaConfig({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 16 } }), /greater/],
    ['partial rotary', tinyLlamaConfig({ partial_rotary_factor: 0.5 }), /partial_rotary_factor/],
    ['per-layer rope', tinyLlamaConfig({ rope_parameters: { full_attention: { rope_type: 'default' } } }), /per-layer/],
    ['sliding_window zero', { ...MISTRAL_7B, sliding_window: 0 }, /sliding_window/],
    ['layer_types wrong length', { ...QWEN2_05B, use_sliding_window: true, layer_types: ['full_attention'] }, /layer_types/],
    ['max_window_layers string', { ...QWEN2_05B, use_sliding_window: true, max_window_layers: 'x' }, /max_window_layers/],
    ['gpt2 inverse layer scaling', tinyGpt2Config({ scale_attn_by_inverse_layer_idx: true }), /scale_attn_by_inverse_layer_idx/],
    ['gpt2 cross attention', tinyGpt2Config({ add_cross_attention: true }), /add_cross_attention/],
  ];
  for (const [name, json, msg] of cases) {
    it(`ConfigInvalid: ${name}`, () => {
      const e = expectCode(() => parse(json), 'ConfigInvalid', msg);
      expect(e.message).toContain('test/config.json');
    });
  }
});
