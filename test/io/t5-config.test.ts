// T5 config.json parsing (lib/io/t5-config.ts) and weight resolution (lib/io/t5-weights.ts): the fields
// that change the maths, transformers 5's spellings, typed errors that say what to fix; and the one
// table of T5's tensor names (native t5Table(), read by lib/io/t5-weights.ts) against every checkpoint
// transformers wrote for the T5 tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { parseModelConfig } from '../../lib/io/model-config.js';
import { loadModelFiles } from '../../lib/io/model-files.js';
import { loadSafetensors, readSafetensorsHeader } from '../../lib/io/safetensors.js';
import { cpuAddon } from '../../lib/native/binding.js';
import { cpuTestHooks } from '../../lib/native/test-hooks.js';
import { t5ConfigJson } from '../../lib/io/t5-config.js';
import { resolveT5Weights, t5HeadTensor, t5Table, t5Tensors } from '../../lib/io/t5-weights.js';

const models = join(__dirname, '..', 'fixtures', 'models');
const V10 = JSON.parse(readFileSync(join(models, 't5-v1_0', 'config.json'), 'utf8')) as Record<string, unknown>;
const V11 = JSON.parse(readFileSync(join(models, 't5-v1_1', 'config.json'), 'utf8')) as Record<string, unknown>;
const parse = (raw: Record<string, unknown>) => parseModelConfig(raw, 'config.json');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GlamError);
    return (e as GlamError).code;
  }
  return 'no error';
}

describe('T5 config', () => {
  it('reads v1.0 and v1.1 with their odd shapes and the head rescale', () => {
    const a = parse(V10);
    expect(a).toMatchObject({ family: 't5', hiddenSize: 48, headDim: 10, numHeads: 4, numLayers: 2, hiddenAct: 'relu', normEps: 1e-6 });
    expect(a.t5).toEqual({ numDecoderLayers: 3, relativeAttentionNumBuckets: 8, relativeAttentionMaxDistance: 16, decoderStartTokenId: 0,
      padTokenId: 0, gatedAct: false, scaleDecoderOutputs: true });
    const b = parse(V11);
    expect(b).toMatchObject({ hiddenAct: 'gelu_tanh', normEps: 1e-5, tieWordEmbeddings: false });
    expect(b.t5).toMatchObject({ gatedAct: true, scaleDecoderOutputs: false, relativeAttentionNumBuckets: 6 });
  });

  it("transformers 5's spelling: scale_decoder_outputs wins over tie_word_embeddings; defaults as T5Config's", () => {
    expect(parse({ ...V11, tie_word_embeddings: true, scale_decoder_outputs: false }).t5!.scaleDecoderOutputs).toBe(false);
    const { num_decoder_layers: _n, relative_attention_num_buckets: _b, relative_attention_max_distance: _d, layer_norm_epsilon: _e,
      tie_word_embeddings: _t, ...bare } = V10;
    const c = parse({ ...bare, feed_forward_proj: undefined });
    expect(c.t5).toMatchObject({ numDecoderLayers: 2, relativeAttentionNumBuckets: 32, relativeAttentionMaxDistance: 128, scaleDecoderOutputs: true });
    expect(c.normEps).toBe(1e-6);
    expect(c.hiddenAct).toBe('relu');
  });

  it('bad fields are ConfigInvalid naming them', () => {
    expect(code(() => parse({ ...V10, feed_forward_proj: 'gated-silu' }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, d_kv: 0 }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, relative_attention_num_buckets: 3 }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, relative_attention_max_distance: 2 }))).toBe('ConfigInvalid');
    // 8 buckets: the decoder's side has 4 exact distances; a max distance of 3 or 4 would make its log
    // buckets negative (an out-of-range bias row), so the config is refused, and 5 is the least accepted
    expect(code(() => parse({ ...V10, relative_attention_max_distance: 4 }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, relative_attention_max_distance: 3 }))).toBe('ConfigInvalid');
    expect(parse({ ...V10, relative_attention_max_distance: 5 }).t5!.relativeAttentionMaxDistance).toBe(5);
    expect(code(() => parse({ ...V10, decoder_start_token_id: 1e6 }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, tie_word_embeddings: 'yes' }))).toBe('ConfigInvalid');
    expect(code(() => parse({ ...V10, layer_norm_epsilon: -1 }))).toBe('ConfigInvalid');
    const { d_model: _, ...noModel } = V10;
    expect(() => parse(noModel)).toThrow(/"d_model" is missing/);
  });

  it('config.json text keeps float fields floats (transformers 5 rejects "initializer_factor": 1)', () => {
    const text = t5ConfigJson({ ...V10, initializer_factor: 1, dropout_rate: 0 });
    expect(text).toMatch(/"initializer_factor": 1\.0,/);
    expect(text).toMatch(/"dropout_rate": 0\.0,/);
    expect(JSON.parse(text)).toEqual({ ...V10, initializer_factor: 1, dropout_rate: 0 });
  });
});

describe('T5 weights', () => {
  it('the untied head is taken; the tied model gets none (the embedding is the head)', () => {
    expect(loadModelFiles(join(models, 't5-v1_1')).weights.has('lm_head.weight')).toBe(true);
    expect(loadModelFiles(join(models, 't5-v1_0')).weights.has('lm_head.weight')).toBe(false);
  });

  it('a head that differs from the embedding is used even when the config says tied (transformers 5 unties)', () => {
    const cfg = parse({ ...V11, tie_word_embeddings: true, scale_decoder_outputs: false });
    expect(resolveT5Weights(cfg, loadSafetensors(join(models, 't5-v1_1'))).has('lm_head.weight')).toBe(true);
  });

  it('missing and misshapen tensors are typed errors; encoder.embed_tokens stands in for shared', () => {
    const cfg = parse(V11);
    const stored = loadSafetensors(join(models, 't5-v1_1'));
    const noHead = new Map(stored);
    noHead.delete('lm_head.weight');
    expect(code(() => resolveT5Weights(cfg, noHead))).toBe('TensorMissing');
    const deep = parse({ ...V11, num_decoder_layers: 4 });
    expect(() => resolveT5Weights(deep, stored)).toThrow(/decoder\.block\.3\./);
    expect(code(() => resolveT5Weights(parse({ ...V11, d_ff: 57 }), stored))).toBe('TensorShapeMismatch');
    const renamed = new Map(stored);
    renamed.set('encoder.embed_tokens.weight', renamed.get('shared.weight')!);
    renamed.delete('shared.weight');
    expect(resolveT5Weights(cfg, renamed).get('shared.weight')!.data).toBe(stored.get('shared.weight')!.data);
  });
});

describe('T5 weights, the native side', () => {
  it('re-checks what the TS side checked before sizing anything: a corrupt config is a typed error, not a crash', () => {
    const { config, weights } = loadModelFiles(join(models, 't5-v1_1'));
    const tensors = Object.fromEntries(weights);
    const ids = Int32Array.from([5, 6, 7]);
    const enc = (cfg: typeof config) => () => cpuTestHooks().t5.encode(cfg, tensors, ids);
    expect(enc(config)().length).toBe(3 * config.hiddenSize);
    expect(code(enc({ ...config, t5: { ...config.t5!, numDecoderLayers: 2 ** 19 } }))).toBe('TensorMissing');
    expect(code(enc({ ...config, numLayers: 3 }))).toBe('TensorMissing');
    expect(code(enc({ ...config, vocabSize: 2 ** 23 }))).toBe('TensorShapeMismatch');
    expect(code(enc({ ...config, headDim: 13 }))).toBe('TensorShapeMismatch');
    expect(code(enc({ ...config, t5: { ...config.t5!, gatedAct: false } }))).toBe('ConfigInvalid'); // gelu_tanh must be gated
    expect(code(enc({ ...config, t5: { ...config.t5!, relativeAttentionNumBuckets: 2 } }))).toBe('ConfigInvalid');
    expect(code(() => cpuTestHooks().t5.encode(config, tensors, Int32Array.from([config.vocabSize])))).toBe('TokenOutOfRange');
  });
});

// The names come from the native table (t5Table(): the one the native loader and exporter read), so this
// is the check that the one table agrees with what transformers wrote: each T5 fixture's stored tensors
// (make_t5.py: from_pretrained's state dict without the stacks' embed_tokens copies; the gradients of
// every parameter, plus the value head's) are exactly the inventory, the head when the model has its own.
const trainDir = join(__dirname, '..', 'fixtures', 'train');
const t5Fixtures = readdirSync(models).filter((d) => d.startsWith('t5-'));

function storedNames(file: string): string[] {
  return [...readSafetensorsHeader(file).tensors.keys()];
}

describe('the native T5 table against transformers-written checkpoints', () => {
  it('covers both T5 layouts the tests load (ReLU tied, gated untied)', () => {
    expect(t5Fixtures.sort()).toEqual(['t5-v1_0', 't5-v1_1']);
    expect(t5Table()).toBe(t5Table()); // read once
    expect(cpuAddon().t5Table()).toEqual(t5Table());
  });

  it.each(t5Fixtures)('%s: the model files hold exactly the expected names', (name) => {
    const dir = join(models, name);
    const cfg = parse(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>);
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    const stored = files.flatMap((f) => storedNames(join(dir, f)));
    expect(stored.length).toBe(new Set(stored).size);
    const expected = [...t5Tensors(cfg), ...(cfg.tieWordEmbeddings ? [] : [t5HeadTensor(cfg)])];
    expect(new Set(stored)).toEqual(new Set(expected.map((t) => t.name)));
    const shapes = new Map(files.flatMap((f) => [...readSafetensorsHeader(join(dir, f)).tensors].map(([n, t]) => [n, t.shape] as const)));
    for (const t of expected) expect(shapes.get(t.name), t.name).toEqual(t.shape);
  });

  it.each(t5Fixtures)('%s: the autograd gradients are named as the expected tensors (+ the value head)', (name) => {
    const cfg = parse(JSON.parse(readFileSync(join(models, name, 'config.json'), 'utf8')) as Record<string, unknown>);
    const stored = storedNames(join(trainDir, name, 'grads.safetensors')).filter((n) => !n.startsWith('value_head.'));
    const expected = [...t5Tensors(cfg), ...(cfg.tieWordEmbeddings ? [] : [t5HeadTensor(cfg)])];
    expect(new Set(stored)).toEqual(new Set(expected.map((t) => t.name)));
  });

  it('is lazy: a config claiming 2^31-1 decoder layers fails at the first missing block', () => {
    const cfg = parse({ ...V11, num_decoder_layers: 2 ** 31 - 1 });
    expect(t5Tensors(cfg).next().value?.name).toBe('shared.weight');
    expect(() => resolveT5Weights(cfg, loadSafetensors(join(models, 't5-v1_1')))).toThrow(/decoder\.block\.3\.layer\.0\.layer_norm/);
  });
});
