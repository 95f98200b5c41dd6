// Weight inventory and resolution: HF names and shapes per family, prefix normalisation, ignored extras, typed
// failures; plus loadModelFiles end to end and writeFileAtomic.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/io/atomic.js';
import { loadModelFiles } from '../../lib/io/model-files.js';
import { parseModelConfig, readModelConfig } from '../../lib/io/model-config.js';
import { readSafetensorsHeader, type StoredTensor } from '../../lib/io/safetensors.js';
import { canonicalTensorNames, expectedTensors, iterExpectedTensors, resolveWeights } from '../../lib/io/weights.js';
import { cpuAddon } from '../../lib/native/binding.js';
import { expectCode, f32, tensorsFor, tinyGpt2Config, tinyLlamaConfig, tmpDir, writeModelDir } from './helpers.js';

const shapes = (cfg: Record<string, unknown>) =>
  Object.fromEntries(expectedTensors(parseModelConfig(cfg, 'cfg')).map((t) => [t.name, t.shape]));

describe('expectedTensors', () => {
  it('llama family: [out, in] Linear shapes, GQA k/v, untied head', () => {
    const s = shapes(tinyLlamaConfig({ head_dim: 6, num_attention_heads: 2, num_key_value_heads: 1 }));
    expect(s).toEqual({
      'model.embed_tokens.weight': [16, 8],
      'model.layers.0.input_layernorm.weight': [8],
      'model.layers.0.self_attn.q_proj.weight': [12, 8],
      'model.layers.0.self_attn.k_proj.weight': [6, 8],
      'model.layers.0.self_attn.v_proj.weight': [6, 8],
      'model.layers.0.self_attn.o_proj.weight': [8, 12],
      'model.layers.0.post_attention_layernorm.weight': [8],
      'model.layers.0.mlp.gate_proj.weight': [12, 8],
      'model.layers.0.mlp.up_proj.weight': [12, 8],
      'model.layers.0.mlp.down_proj.weight': [8, 12],
      'model.norm.weight': [8],
      'lm_head.weight': [16, 8],
    });
  });

  it('biases: Qwen2 qkv only; Llama attention_bias / mlp_bias; tied drops lm_head', () => {
    const q = shapes(tinyLlamaConfig({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true }));
    expect(Object.keys(q).filter((k) => k.endsWith('.bias'))).toEqual([
      'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias',
    ]);
    expect(q['model.layers.0.self_attn.k_proj.bias']).toEqual([4]);
    expect('lm_head.weight' in q).toBe(false);
    const l = shapes(tinyLlamaConfig({ attention_bias: true, mlp_bias: true }));
    expect(Object.keys(l).filter((k) => k.endsWith('.bias')).length).toBe(7);
    expect(l['model.layers.0.mlp.down_proj.bias']).toEqual([8]);
    expect(l['model.layers.0.self_attn.o_proj.bias']).toEqual([8]);
  });

  it('gpt2: Conv1D [in, out] shapes, positions, tied', () => {
    const s = shapes(tinyGpt2Config({ n_layer: 2 }));
    expect(Object.keys(s).length).toBe(2 + 12 * 2 + 2);
    expect(s['transformer.wte.weight']).toEqual([16, 8]);
    expect(s['transformer.wpe.weight']).toEqual([32, 8]);
    expect(s['transformer.h.1.attn.c_attn.weight']).toEqual([8, 24]);
    expect(s['transformer.h.1.attn.c_attn.bias']).toEqual([24]);
    expect(s['transformer.h.0.attn.c_proj.weight']).toEqual([8, 8]);
    expect(s['transformer.h.0.mlp.c_fc.weight']).toEqual([8, 32]);
    expect(s['transformer.h.0.mlp.c_proj.weight']).toEqual([32, 8]);
    expect(s['transformer.ln_f.bias']).toEqual([8]);
    expect('lm_head.weight' in s).toBe(false);
  });

  it('is lazy: a config claiming 2^31-1 layers fails at the first missing layer', () => {
    const cfg = parseModelConfig(tinyLlamaConfig({ num_hidden_layers: 2 ** 31 - 1 }), 'cfg');
    const it = iterExpectedTensors(cfg);
    expect(it.next().value?.name).toBe('model.embed_tokens.weight');
    expectCode(() => resolveWeights(cfg, tensorsFor(tinyLlamaConfig())), 'TensorMissing', /model\.layers\.1\.input_layernorm/);
  });
});

// The names come from the native family table (familyTable(): the table the native loader reads), so this is
// the check that the one table agrees with checkpoints transformers wrote: every fixture's stored tensors are
// exactly the expected ones, up to the extras transformers itself ignores.
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
// T5 is not a decoder-only family: its table is t5Table() (lib/io/t5-weights.ts), checked against its
// fixtures in test/io/t5-config.test.ts.
const hfDirs = fs.readdirSync(FIXTURES).map((d) => path.join(FIXTURES, d))
  .filter((d) => fs.existsSync(path.join(d, 'model.safetensors')) && readModelConfig(d).family !== 't5');

describe('the native family table against transformers-written checkpoints', () => {
  it('the addon exports one entry per family, the ones model-config.ts produces', () => {
    expect(Object.keys(cpuAddon().familyTable()).sort()).toEqual(['gpt2', 'llama']);
  });

  it.each(hfDirs.map((d) => [path.basename(d), d]))('%s: the stored names are exactly the expected names', (_n, dir) => {
    const cfg = readModelConfig(dir);
    const stored = [...readSafetensorsHeader(path.join(dir, 'model.safetensors')).tensors.keys()]
      .filter((n) => !/\.attn\.(masked_)?bias$|rotary_emb\.inv_freq$/.test(n))
      .filter((n) => !(cfg.tieWordEmbeddings && n === 'lm_head.weight'));
    expect(new Set(canonicalTensorNames(cfg, new Map(stored.map((n) => [n, {} as StoredTensor]))).keys()))
      .toEqual(new Set(expectedTensors(cfg).map((t) => t.name)));
  });
});

describe('resolveWeights', () => {
  const llama = tinyLlamaConfig();
  const cfg = parseModelConfig(llama, 'cfg');

  it('returns exactly the expected tensors, ignoring extra buffers', () => {
    const t = tensorsFor(llama);
    t.set('model.layers.0.self_attn.rotary_emb.inv_freq', f32([2]));
    const w = resolveWeights(cfg, t);
    expect([...w.keys()]).toEqual(expectedTensors(cfg).map((e) => e.name));
  });

  it('tied model with a redundant lm_head.weight is fine', () => {
    const tied = tinyLlamaConfig({ tie_word_embeddings: true });
    const t = tensorsFor(tied);
    t.set('lm_head.weight', f32([16, 8]));
    expect(resolveWeights(parseModelConfig(tied, 'cfg'), t).has('lm_head.weight')).toBe(false);
  });

  it('GPT-2 hub files without the transformer. prefix, with attn.bias / masked_bias buffers', () => {
    const g = tinyGpt2Config();
    const gcfg = parseModelConfig(g, 'cfg');
    const bare = new Map<string, StoredTensor>([...tensorsFor(g)].map(([k, v]) => [k.replace(/^transformer\./, ''), v]));
    bare.set('h.0.attn.bias', f32([1, 1, 32, 32]));
    bare.set('h.0.attn.masked_bias', f32([]));
    const w = resolveWeights(gcfg, bare);
    expect([...w.keys()]).toEqual(expectedTensors(gcfg).map((e) => e.name));
    bare.set('transformer.wte.weight', f32([16, 8]));
    expectCode(() => resolveWeights(gcfg, bare), 'SafetensorsInvalid', /stored twice/);
  });

  it('TensorMissing names the tensor and the file', () => {
    const t = tensorsFor(llama);
    t.delete('model.layers.0.mlp.up_proj.weight');
    for (const v of t.values()) v.file = '/m/model.safetensors';
    expectCode(() => resolveWeights(cfg, t), 'TensorMissing', /"model\.layers\.0\.mlp\.up_proj\.weight".*\/m\/model\.safetensors/);
    const untied = tensorsFor(tinyLlamaConfig({ tie_word_embeddings: true }));
    expectCode(() => resolveWeights(cfg, untied), 'TensorMissing', /lm_head\.weight/);
  });

  it('TensorShapeMismatch gives expected vs got', () => {
    const t = tensorsFor(llama);
    t.set('model.layers.0.self_attn.k_proj.weight', f32([8, 8]));
    expectCode(() => resolveWeights(cfg, t), 'TensorShapeMismatch', /k_proj\.weight.*\[4, 8\].*\[8, 8\]/);
    t.set('model.layers.0.self_attn.k_proj.weight', f32([32]));
    expectCode(() => resolveWeights(cfg, t), 'TensorShapeMismatch');
  });

  it('TensorDtypeUnsupported for an expected tensor in an integer dtype', () => {
    const t = tensorsFor(llama);
    t.set('model.norm.weight', { dtype: 'I32', shape: [8], data: new Uint8Array(32) });
    expectCode(() => resolveWeights(cfg, t), 'TensorDtypeUnsupported', /model\.norm\.weight.*I32/);
  });
});

describe('loadModelFiles', () => {
  it('loads tiny llama and gpt2 dirs written with our writer', () => {
    for (const json of [tinyLlamaConfig(), tinyGpt2Config(), tinyLlamaConfig({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' })]) {
      const dir = writeModelDir('mf', json);
      const { config, weights } = loadModelFiles(dir);
      expect(weights.size).toBe(expectedTensors(config).length);
      for (const t of weights.values()) expect(t.dtype).toBe('F32');
    }
  });
  it('reports a broken config before reading weights; InvalidArgument for a bad dir', () => {
    const dir = tmpDir('mf');
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    expectCode(() => loadModelFiles(dir), 'ConfigInvalid');
    expectCode(() => loadModelFiles(''), 'InvalidArgument');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(tinyLlamaConfig()));
    expectCode(() => loadModelFiles(dir), 'SafetensorsMissing');
  });
});

describe('writeFileAtomic', () => {
  it('writes strings, buffers and chunk lists; replaces; leaves no temp file', () => {
    const dir = tmpDir('at');
    const f = path.join(dir, 'a.json');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, [Buffer.from('tw'), new Uint8Array([0x6f])]);
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    writeFileAtomic(f, Buffer.from('three'));
    expect(fs.readFileSync(f, 'utf8')).toBe('three');
    expect(fs.readdirSync(dir)).toEqual(['a.json']);
  });
  it('IoError on failure, with the temp file cleaned up', () => {
    const dir = tmpDir('at');
    expectCode(() => writeFileAtomic(path.join(dir, 'missing', 'a'), 'x'), 'IoError', /missing/);
    fs.mkdirSync(path.join(dir, 'isdir'));
    expectCode(() => writeFileAtomic(path.join(dir, 'isdir'), 'x'), 'IoError'); // rename onto a directory
    expect(fs.readdirSync(dir)).toEqual(['isdir']);
  });
});
