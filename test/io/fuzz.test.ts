// Fuzz test of the model-file loader (loadModelFiles): >= 10,000 seeded, deterministic mutations of tiny valid
// model directories (1-layer hidden-8 Llama and GPT-2, and a 2-shard Llama). Every call must either load — and
// then return exactly the expected tensors with consistent byte lengths — or throw a GlamError with a known code
// whose message names the model directory. Any other exception (TypeError, RangeError, ...) fails the test.
// Mutation families: raw byte edits of model.safetensors (biased towards the header), structured edits of its
// header JSON (offsets, dtypes, shapes, names, metadata), character edits of the header text, config.json field
// deletions/type changes, config.json text garbage, and shard index / shard corruption.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GlamError } from '../../lib/errors.js';
import { loadModelFiles, type ModelFiles } from '../../lib/io/model-files.js';
import { callNative, cpuAddon } from '../../lib/native/binding.js';
import { serializeSafetensors, type StoredTensor } from '../../lib/io/safetensors.js';
import { expectedTensors } from '../../lib/io/weights.js';
import { rng, tensorsFor, tinyGpt2Config, tinyLlamaConfig, tmpDir } from './helpers.js';

const KNOWN = new Set(['ConfigMissing', 'ConfigInvalid', 'UnsupportedArchitecture', 'SafetensorsMissing', 'SafetensorsInvalid',
  'TensorMissing', 'TensorShapeMismatch', 'TensorDtypeUnsupported', 'IoError']);

type Files = Record<string, Uint8Array | string | null>; // null = file absent
type Rand = ReturnType<typeof rng>;

const stats = new Map<string, Map<string, number>>();
let total = 0;

function record(family: string, outcome: string): void {
  const m = stats.get(family) ?? new Map<string, number>();
  m.set(outcome, (m.get(outcome) ?? 0) + 1);
  stats.set(family, m);
  total++;
}

/** A scratch dir in RAM where there is one (the fuzzer rewrites files ~15,000 times), else in os.tmpdir(). */
function newDir(): string {
  const d = fuzzDir();
  dirs.push(d);
  return d;
}

function fuzzDir(): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) return fs.mkdtempSync('/dev/shm/glam-io-fuzz-');
  } catch { /* fall through */ }
  return tmpDir('fz');
}

/** Everything the TS loader accepted: the native engine must load it too, or refuse it with a typed error. */
const accepted: { what: string; files: ModelFiles }[] = [];
const written = new Map<string, Uint8Array | string | null>(); // last content per path: skip identical rewrites
const dirs: string[] = [];

/** Writes `files` into `dir` (removing absent ones), runs the loader, checks the contract, records the outcome. */
function trial(family: string, dir: string, files: Files, what: string): void {
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (written.has(p) && written.get(p) === content) continue;
    if (content === null) fs.rmSync(p, { force: true });
    else fs.writeFileSync(p, content);
    written.set(p, content);
  }
  let outcome: string;
  try {
    const { config, weights } = loadModelFiles(dir);
    const expected = expectedTensors(config);
    expect([...weights.keys()], what).toEqual(expected.map((e) => e.name));
    for (const { name, shape } of expected) {
      const t = weights.get(name)!;
      expect(t.shape, `${what}: ${name}`).toEqual(shape);
      const elems = shape.reduce((a, b) => a * b, 1);
      expect(t.data.length, `${what}: ${name}`).toBe(elems * (t.dtype === 'F32' ? 4 : 2));
    }
    outcome = 'loaded';
    accepted.push({ what: `${family} / ${what}`, files: { config, weights } });
  } catch (err) {
    if (!(err instanceof GlamError)) {
      throw new Error(`${family} / ${what}: loader threw a non-GlamError: ${String(err)}\n${(err as Error).stack}`);
    }
    if (!KNOWN.has(err.code)) throw new Error(`${family} / ${what}: unexpected code ${err.code}: ${err.message}`);
    if (!err.message.includes(dir)) throw new Error(`${family} / ${what}: message does not name the location: ${err.message}`);
    outcome = err.code;
  }
  record(family, outcome);
}

const pick = <T,>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

const WILD: unknown[] = [-1, 0, 1, 2, 3, 4, 7, 8, 16, 1.5, -0.5, 2 ** 31, 2 ** 53, 1e300, '8', '', 'x', null, true, false, [], [1], {},
  { rope_type: 'llama3' }, 'F16', 'BF16', 'F32', 'I32', 'U8', 'F4', 'BOOL', 'F64', 'Q4_K', 'LlamaForCausalLM'];

function bytesOf(tensors: Map<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
  return Buffer.concat(serializeSafetensors(tensors, metadata));
}

/** Raw byte edits, 1-3 per trial, 75% of positions inside the length prefix + header. */
function mutateBytes(r: Rand, src: Uint8Array): Uint8Array {
  let b = Buffer.from(src);
  const headerEnd = Math.min(b.length, 8 + Number(Buffer.from(src).readBigUInt64LE(0)));
  const ops = 1 + int(r, 3);
  for (let k = 0; k < ops && b.length > 0; k++) {
    const pos = r() < 0.75 ? int(r, headerEnd) : int(r, b.length);
    switch (int(r, 7)) {
      case 0: b[pos] = b[pos]! ^ (1 << int(r, 8)); break;
      case 1: b[pos] = int(r, 256); break;
      case 2: b = Buffer.concat([b.subarray(0, pos), Buffer.from(Array.from({ length: 1 + int(r, 8) }, () => int(r, 256))), b.subarray(pos)]); break;
      case 3: b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + int(r, 16)))]); break;
      case 4: b = b.subarray(0, pos); break;
      case 5: b = Buffer.concat([b, Buffer.alloc(1 + int(r, 16), int(r, 256))]); break;
      default: b[pos] = pick(r, [0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x20]); break; // JSON punctuation/digits
    }
  }
  return b;
}

function splitFile(src: Uint8Array): { header: Record<string, unknown>; text: string; data: Buffer } {
  const b = Buffer.from(src);
  const n = Number(b.readBigUInt64LE(0));
  const text = b.subarray(8, 8 + n).toString('utf8');
  return { header: JSON.parse(text) as Record<string, unknown>, text, data: b.subarray(8 + n) };
}

function assemble(r: Rand, text: string, data: Uint8Array): Uint8Array {
  const h = Buffer.from(text + (r() < 0.5 ? ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8) : ''), 'utf8');
  const prefix = Buffer.alloc(8);
  const off = r() < 0.9 ? 0 : pick(r, [-3, -1, 1, 5, 1000]);
  prefix.writeBigUInt64LE(BigInt(Math.max(0, h.length + off)));
  return Buffer.concat([prefix, h, data]);
}

/** Structured edits of the header JSON: values of offsets, dtypes, shapes, names, entries, metadata. */
function mutateHeader(r: Rand, src: Uint8Array): Uint8Array {
  const { header, data } = splitFile(src);
  const ops = 1 + int(r, 2);
  for (let k = 0; k < ops; k++) {
    const names = Object.keys(header).filter((n) => n !== '__metadata__');
    const name = pick(r, names);
    const e = header[name] as Record<string, unknown> | undefined;
    const entry = typeof e === 'object' && e !== null ? e : undefined;
    const offs = Array.isArray(entry?.data_offsets) ? (entry!.data_offsets as unknown[]) : undefined;
    const shape = Array.isArray(entry?.shape) ? (entry!.shape as unknown[]) : undefined;
    switch (int(r, 12)) {
      case 0: if (offs) offs[int(r, 2)] = (offs[int(r, 2)] as number) + pick(r, [-8, -4, -1, 1, 2, 4, 8, 1 << 20]); break;
      case 1: if (entry) entry.data_offsets = pick(r, WILD); break;
      case 2: if (offs) offs.reverse(); break;
      case 3: if (entry) entry.dtype = pick(r, WILD); break;
      case 4: if (entry) entry.dtype = pick(r, ['F16', 'BF16', 'F32', 'I32', 'U32', 'I16', 'F64', 'I64', 'U8']); break;
      case 5: if (shape && shape.length > 0) shape[int(r, shape.length)] = pick(r, WILD); break;
      case 6: if (shape) { if (r() < 0.5) shape.push(1 + int(r, 2)); else shape.pop(); } break;
      case 7: if (shape && shape.length === 2) shape.reverse(); break; // same bytes, transposed
      case 8: if (entry) { header[pick(r, [name.replace(/^(model|transformer)\./, ''), `${name}.x`, pick(r, names), ''])] = entry; delete header[name]; } break;
      case 9: if (entry) delete entry[pick(r, ['dtype', 'shape', 'data_offsets'])]; break;
      case 10: header[pick(r, ['__metadata__', name, 'extra'])] = pick(r, WILD); break;
      default: { // swap the offsets of two tensors (same lengths -> loads with permuted data, else invalid)
        const other = header[pick(r, names)] as Record<string, unknown> | undefined;
        if (entry && typeof other === 'object' && other !== null) [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      }
    }
  }
  return assemble(r, JSON.stringify(header), data);
}

/** Character edits of the header JSON text (then a consistent or inconsistent length prefix). */
function mutateHeaderText(r: Rand, src: Uint8Array): Uint8Array {
  const { text, data } = splitFile(src);
  let t = text.trimEnd();
  const ops = 1 + int(r, 3);
  for (let k = 0; k < ops; k++) {
    const pos = int(r, t.length);
    const ch = pick(r, ['"', ',', ':', '[', ']', '{', '}', '0', '1', '9', '-', '.', 'e', ' ', '\\', '\u00e9', '\ud83d', 'F', 'x']);
    switch (int(r, 3)) {
      case 0: t = t.slice(0, pos) + ch + t.slice(pos + 1); break;
      case 1: t = t.slice(0, pos) + ch + t.slice(pos); break;
      default: t = t.slice(0, pos) + t.slice(pos + 1 + int(r, 4));
    }
  }
  return assemble(r, t, data);
}

const CONFIG_KEYS = ['architectures', 'model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers',
  'num_attention_heads', 'num_key_value_heads', 'head_dim', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta',
  'rope_scaling', 'rope_parameters', 'tie_word_embeddings', 'attention_bias', 'mlp_bias', 'hidden_act', 'sliding_window',
  'use_sliding_window', 'max_window_layers', 'layer_types', 'bos_token_id', 'eos_token_id', 'n_embd', 'n_layer', 'n_head',
  'n_inner', 'n_positions', 'layer_norm_epsilon', 'activation_function', 'scale_attn_weights', 'partial_rotary_factor'];
const CONFIG_VALUES: unknown[] = [...WILD, 'GPT2LMHeadModel', 'Qwen2ForCausalLM', 'MistralForCausalLM', ['BertModel'], 'gelu_new', 'relu',
  { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  { rope_type: 'yarn', factor: 2 }, { type: 'default' }, ['full_attention'], [128001, 128009], 1e-5, 10000.5, 5];

function mutateConfig(r: Rand, base: Record<string, unknown>): string {
  const c: Record<string, unknown> = structuredClone(base);
  const ops = 1 + int(r, 3);
  for (let k = 0; k < ops; k++) {
    const key = r() < 0.6 ? pick(r, Object.keys(c).length ? Object.keys(c) : CONFIG_KEYS) : pick(r, CONFIG_KEYS);
    if (r() < 0.3) delete c[key];
    else c[key] = structuredClone(pick(r, CONFIG_VALUES));
  }
  return JSON.stringify(c, null, 2);
}

function mutateText(r: Rand, text: string): Uint8Array {
  let b = Buffer.from(text, 'utf8');
  switch (int(r, 4)) {
    case 0: b = b.subarray(0, int(r, b.length)); break;
    case 1: b[int(r, b.length)] = int(r, 256); break;
    case 2: { const p = int(r, b.length); b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + int(r, 6))]); break; }
    default: b = Buffer.from(pick(r, ['', 'null', '[]', '"x"', '42', '{"architectures": null}', '\u0000\u0001', '{}}']));
  }
  return b;
}

const SEED = 0x9e3779b9;
const llamaJson = tinyLlamaConfig();
const gpt2Json = tinyGpt2Config();
const llamaTensors = tensorsFor(llamaJson);
const llamaBytes = bytesOf(llamaTensors, { format: 'pt' });
const gpt2Bytes = bytesOf(tensorsFor(gpt2Json), { format: 'pt' });
const model = (cfg: Record<string, unknown>, st: Uint8Array): Files =>
  ({ 'config.json': JSON.stringify(cfg), 'model.safetensors': st });

describe('fuzz: loadModelFiles only loads or throws a typed GlamError', () => {
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    const lines = [`fuzz: ${total} mutations`];
    const sum = new Map<string, number>();
    for (const [family, m] of stats) {
      lines.push(`  ${family}: ${[...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      for (const [k, v] of m) sum.set(k, (sum.get(k) ?? 0) + v);
    }
    lines.push(`  all: ${[...sum].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(lines.join('\n'));
  });

  it('unmutated tiny models load', () => {
    trial('baseline', newDir(), model(llamaJson, llamaBytes), 'llama');
    trial('baseline', newDir(), model(gpt2Json, gpt2Bytes), 'gpt2');
    expect(stats.get('baseline')!.get('loaded')).toBe(2);
  });

  const families: [string, number, (r: Rand, i: number) => Files][] = [
    ['safetensors bytes', 2400, (r, i) => model(i % 2 ? gpt2Json : llamaJson, mutateBytes(r, i % 2 ? gpt2Bytes : llamaBytes))],
    ['header values', 2400, (r, i) => model(i % 2 ? gpt2Json : llamaJson, mutateHeader(r, i % 2 ? gpt2Bytes : llamaBytes))],
    ['header text', 1200, (r, i) => model(i % 2 ? gpt2Json : llamaJson, mutateHeaderText(r, i % 2 ? gpt2Bytes : llamaBytes))],
    ['config fields', 2000, (r, i) => ({ 'config.json': mutateConfig(r, i % 2 ? gpt2Json : llamaJson), 'model.safetensors': i % 2 ? gpt2Bytes : llamaBytes })],
    ['config text', 600, (r, i) => ({ 'config.json': mutateText(r, JSON.stringify(i % 2 ? gpt2Json : llamaJson, null, 2)), 'model.safetensors': i % 2 ? gpt2Bytes : llamaBytes })],
  ];
  families.forEach(([family, count, make], f) => {
    it(`${family}: ${count} mutations`, () => {
      const r = rng(SEED + f);
      const dir = newDir();
      for (let i = 0; i < count; i++) {
        const files = make(r, i);
        // Occasionally also remove a whole file.
        if (r() < 0.01) files[pick(r, ['config.json', 'model.safetensors'])] = null;
        trial(family, dir, files, `#${i}`);
      }
    });
  });

  it('sharded index and shards: 1600 mutations', () => {
    const r = rng(SEED + 99);
    const dir = newDir();
    const names = [...llamaTensors.keys()];
    const s1 = 'model-00001-of-00002.safetensors';
    const s2 = 'model-00002-of-00002.safetensors';
    const half = Math.ceil(names.length / 2);
    const shard = (ns: string[]) => bytesOf(new Map(ns.map((n) => [n, llamaTensors.get(n)!])), { format: 'pt' });
    const b1 = shard(names.slice(0, half));
    const b2 = shard(names.slice(half));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? s1 : s2]));
    const base = { metadata: { total_size: llamaBytes.length }, weight_map: weightMap };
    trial('sharded', dir, { 'config.json': JSON.stringify(llamaJson), 'model.safetensors.index.json': JSON.stringify(base), [s1]: b1, [s2]: b2 }, 'unmutated');
    expect(stats.get('sharded')!.get('loaded')).toBe(1);
    for (let i = 0; i < 1600; i++) {
      const idx: { metadata: unknown; weight_map: Record<string, unknown> } = structuredClone(base);
      const files: Files = { 'config.json': JSON.stringify(llamaJson), [s1]: b1, [s2]: b2 };
      let indexText: string | Uint8Array | null = null;
      const n = pick(r, names);
      switch (int(r, 10)) {
        case 0: idx.weight_map[n] = pick(r, [s1, s2, 'model-00003-of-00002.safetensors', '../model.safetensors', '/etc/hostname', '', '.', 'sub/x', 7, null]); break;
        case 1: delete idx.weight_map[n]; break;
        case 2: idx.weight_map[`${n}.extra`] = pick(r, [s1, s2]); break;
        case 3: (idx as Record<string, unknown>).weight_map = pick(r, WILD); break;
        case 4: idx.metadata = pick(r, WILD); break;
        case 5: indexText = mutateText(r, JSON.stringify(idx)); break;
        case 6: files[pick(r, [s1, s2])] = null; break;
        case 7: files[pick(r, [s1, s2])] = mutateBytes(r, pick(r, [b1, b2])); break;
        case 8: files[pick(r, [s1, s2])] = mutateHeader(r, pick(r, [b1, b2])); break;
        default: files[s2] = pick(r, [b1, b2, llamaBytes]); // duplicates across shards
      }
      files['model.safetensors.index.json'] = indexText ?? JSON.stringify(idx);
      trial('sharded', dir, files, `#${i}`);
    }
  });

  it('every mutated model the loader accepts also loads natively and scores (or fails typed), never crashing', async () => {
    expect(accepted.length).toBeGreaterThan(1000);
    const outcomes = new Map<string, number>();
    for (const { what, files } of accepted) {
      let outcome = 'scored';
      try {
        const m = await callNative(() => cpuAddon().loadModel(files.config, Object.fromEntries(files.weights), { threads: 1 }));
        const i32 = (a: number[]) => Int32Array.from(a);
        const r = await callNative(() => m.score({ tokens: i32([1, 2, 3]), promptStart: i32([0]), promptLen: i32([2]), candStart: i32([2]), candLen: i32([1]), candPrompt: i32([0]) }, { mode: 'fused', hidden: false }));
        expect(r.logprobs.length, what).toBe(1);
        m.dispose();
      } catch (err) {
        if (!(err instanceof GlamError)) throw new Error(`${what}: native threw a non-GlamError: ${String(err)}`);
        expect(err.code, `${what}: ${err.message}`).not.toBe('Internal');
        outcome = err.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log(`fuzz (native): ${accepted.length} accepted models -> ${[...outcomes].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  });

  it('totals: >= 10,000 mutations, all outcomes typed, and the fuzzer reaches every layer', () => {
    expect(total).toBeGreaterThanOrEqual(10_000);
    const seen = new Set<string>();
    for (const m of stats.values()) for (const k of m.keys()) seen.add(k);
    for (const code of ['loaded', 'ConfigInvalid', 'UnsupportedArchitecture', 'SafetensorsInvalid', 'SafetensorsMissing',
      'TensorMissing', 'TensorShapeMismatch', 'TensorDtypeUnsupported', 'ConfigMissing']) {
      expect(seen, code).toContain(code);
    }
  });
});
