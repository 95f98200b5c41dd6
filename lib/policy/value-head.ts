// GLAM's value head: an MLP on the prompt's last-token final hidden state,
// C -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1 (hidden sizes configurable).
// Subtle: initialisation follows torch.nn.Linear's default (weights and biases uniform in
// ±1/sqrt(fan_in)) drawn from our seeded Rng, and the file uses torch.nn.Sequential's names
// (value_head.0/2/4.weight|bias) so PyTorch code can load it with load_state_dict.
import { existsSync } from 'node:fs';

import { Rng } from '../util/rng.js';
import { GlamError } from '../errors.js';
import { readSafetensorsFile, writeSafetensors, type StoredTensor } from '../io/safetensors.js';
import type { NativeValueHead } from '../native/binding.js';

export const VALUE_HEAD_FILE = 'value_head.safetensors';
export const GLAM_VALUE_HIDDEN = [1024, 1024] as const;

/** A fresh value head for hidden size C. */
export function createValueHead(C: number, hidden: readonly number[] = GLAM_VALUE_HIDDEN, seed = 0): NativeValueHead {
  const sizes = [C, ...hidden, 1];
  if (!sizes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new GlamError('InvalidArgument', `value head sizes must be positive integers, got ${JSON.stringify(sizes)}`);
  }
  const rng = new Rng(seed);
  const head: NativeValueHead = { sizes, weights: [], biases: [] };
  for (let i = 0; i + 1 < sizes.length; ++i) {
    const fanIn = sizes[i]!;
    const bound = 1 / Math.sqrt(fanIn);
    const w = new Float32Array(sizes[i + 1]! * fanIn);
    for (let j = 0; j < w.length; ++j) w[j] = (rng.nextFloat() * 2 - 1) * bound;
    const b = new Float32Array(sizes[i + 1]!);
    for (let j = 0; j < b.length; ++j) b[j] = (rng.nextFloat() * 2 - 1) * bound;
    head.weights.push(w);
    head.biases.push(b);
  }
  return head;
}

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** An own, aligned fp32 copy of little-endian bytes (the data may be a Buffer view into a larger read). */
function f32Copy(data: Uint8Array): Float32Array {
  return new Float32Array(new Uint8Array(data).buffer);
}

/** Writes the head as safetensors (atomic). */
export function saveValueHead(file: string, head: NativeValueHead): void {
  const t: Record<string, StoredTensor> = {};
  head.weights.forEach((w, i) => {
    t[`value_head.${2 * i}.weight`] = { dtype: 'F32', shape: [head.sizes[i + 1]!, head.sizes[i]!], data: bytes(w) };
    t[`value_head.${2 * i}.bias`] = { dtype: 'F32', shape: [head.sizes[i + 1]!], data: bytes(head.biases[i]!) };
  });
  writeSafetensors(file, t, { format: 'pt', glam: 'value_head' });
}

/** Reads a head written by saveValueHead; its input size must be C. */
export function loadValueHead(file: string, C: number): NativeValueHead {
  if (!existsSync(file)) throw new GlamError('SafetensorsMissing', `no value head at ${file}`);
  const t = readSafetensorsFile(file);
  const head: NativeValueHead = { sizes: [C], weights: [], biases: [] };
  for (let i = 0; ; ++i) {
    const w = t.get(`value_head.${2 * i}.weight`);
    const b = t.get(`value_head.${2 * i}.bias`);
    if (!w) break;
    const inSize = head.sizes[i]!;
    if (!b || w.dtype !== 'F32' || b.dtype !== 'F32' || w.shape.length !== 2 || w.shape[1] !== inSize || b.shape[0] !== w.shape[0]) {
      throw new GlamError('TensorShapeMismatch', `${file}: value_head.${2 * i} does not chain from size ${inSize} (F32 weight [out, ${inSize}] and bias [out] needed)`);
    }
    head.sizes.push(w.shape[0]!);
    head.weights.push(f32Copy(w.data));
    head.biases.push(f32Copy(b.data));
  }
  if (head.weights.length === 0 || head.sizes[head.sizes.length - 1] !== 1) {
    throw new GlamError('TensorMissing', `${file} holds no value head ending in one output`);
  }
  return head;
}
