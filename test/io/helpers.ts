// Test helpers for lib/io: tiny but complete model directories (config.json + model.safetensors written with our
// writer), a seeded PRNG, and assertions on GlamError codes. Not a test file itself (no .test.ts suffix).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect } from 'vitest';
import { GlamError, type GlamErrorCode } from '../../lib/errors.js';
import { parseModelConfig } from '../../lib/io/model-config.js';
import { writeSafetensors, type StoredTensor } from '../../lib/io/safetensors.js';
import { expectedTensors } from '../../lib/io/weights.js';

const made: string[] = [];
// Registered on the importing test file's root suite: its tmp dirs are removed when the file finishes.
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `glam-io-${tag}-`));
  made.push(d);
  return d;
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 1-layer, hidden-8 Llama config (2 heads of 4, 1 KV head, vocab 16). */
export function tinyLlamaConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 16, hidden_size: 8, intermediate_size: 12,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32,
    rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: false, hidden_act: 'silu',
    bos_token_id: 1, eos_token_id: 2, ...extra,
  };
}

/** A 1-layer, hidden-8 GPT-2 config (2 heads, vocab 16, 32 positions). */
export function tinyGpt2Config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2,
    n_positions: 32, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
    bos_token_id: 0, eos_token_id: 0, ...extra,
  };
}

/** F32 tensor with deterministic contents. */
export function f32(shape: number[], seed = 1): StoredTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const arr = new Float32Array(n);
  for (let i = 0; i < n; i++) arr[i] = r() - 0.5;
  return { dtype: 'F32', shape, data: new Uint8Array(arr.buffer) };
}

/** Every tensor `configJson` needs, random F32, keyed by Hugging Face name. */
export function tensorsFor(configJson: Record<string, unknown>): Map<string, StoredTensor> {
  const cfg = parseModelConfig(configJson, 'test config');
  return new Map(expectedTensors(cfg).map((t, i) => [t.name, f32(t.shape, i + 1)]));
}

/** Writes config.json and model.safetensors for `configJson` into a fresh tmp dir. */
export function writeModelDir(tag: string, configJson: Record<string, unknown>, tensors = tensorsFor(configJson)): string {
  const dir = tmpDir(tag);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

/** Asserts that `fn` throws a GlamError with `code` (and, optionally, a message matching `msg`). */
export function expectCode(fn: () => unknown, code: GlamErrorCode, msg?: RegExp): GlamError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected GlamError ${code}`).toBeInstanceOf(GlamError);
  const g = caught as GlamError;
  expect(g.code, g.message).toBe(code);
  if (msg) expect(g.message).toMatch(msg);
  return g;
}
