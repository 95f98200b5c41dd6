// The value head: the engine's values equal GLAM's MLP (C -> 1024 -> sigmoid -> 1024 -> sigmoid -> 1)
// evaluated in JS double precision on the engine's own last-token hidden states (which the parity
// test ties to transformers); seeded initialisation; safetensors round trip beside the model.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import type { NativeValueHead } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';
import { VALUE_HEAD_FILE, createValueHead, loadValueHead, saveValueHead } from '../../lib/policy/value-head.js';

const fixture = join(__dirname, '..', 'fixtures', 'models', 'qwen2');

function mlp(head: NativeValueHead, x: ArrayLike<number>): number {
  let cur = Array.from(x);
  head.weights.forEach((w, i) => {
    const out = head.sizes[i + 1]!;
    const next = new Array<number>(out).fill(0);
    for (let o = 0; o < out; ++o) {
      let s = head.biases[i]![o]!;
      for (let j = 0; j < cur.length; ++j) s += w[o * cur.length + j]! * cur[j]!;
      next[o] = i + 1 < head.weights.length ? 1 / (1 + Math.exp(-s)) : s;
    }
    cur = next;
  });
  return cur[0]!;
}

test('GLAM shape, seeded: same seed same weights, other seed differs; torch Linear init bounds', () => {
  const a = createValueHead(64, undefined, 3);
  expect(a.sizes).toEqual([64, 1024, 1024, 1]);
  const same = (x: Float32Array, y: Float32Array) => Buffer.from(x.buffer).equals(Buffer.from(y.buffer));
  expect(same(createValueHead(64, undefined, 3).weights[1]!, a.weights[1]!)).toBe(true);
  expect(same(createValueHead(64, undefined, 4).weights[1]!, a.weights[1]!)).toBe(false);
  const maxAbs = (w: Float32Array) => w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbs(a.weights[0]!)).toBeLessThanOrEqual(1 / 8);
  expect(maxAbs(a.weights[0]!)).toBeGreaterThan(0.9 / 8);
  expect(maxAbs(a.weights[1]!)).toBeLessThanOrEqual(1 / 32);
});

test("values equal the MLP on each prompt's last-token hidden state", async () => {
  const policy = await Policy.load(fixture, { threads: 2, valueSeed: 11 });
  const r = await policy.score({ prompts: ['Goal of the agent: open the door', 'You see a wall 1 step left'], candidates: [['toggle'], ['turn left', 'go forward']], hidden: true });
  const head = createValueHead(policy.config.hiddenSize, undefined, 11);
  const C = policy.config.hiddenSize;
  for (let b = 0; b < 2; ++b) expect(Math.abs(r.values[b]! - mlp(head, r.hidden!.subarray(b * C, (b + 1) * C)))).toBeLessThan(1e-5);
  await policy.dispose();
});

test('a value_head.safetensors beside the model is loaded (round trip), with custom sizes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glam-vh-'));
  cpSync(fixture, dir, { recursive: true });
  const head = createValueHead(64, [16, 8], 5);
  saveValueHead(join(dir, VALUE_HEAD_FILE), head);
  const back = loadValueHead(join(dir, VALUE_HEAD_FILE), 64);
  expect(back.sizes).toEqual([64, 16, 8, 1]);
  back.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(head.weights[i]!)));
  const policy = await Policy.load(dir, { threads: 1 });
  const r = await policy.score({ prompts: ['hello'], candidates: [['a']], hidden: true });
  expect(Math.abs(r.values[0]! - mlp(head, r.hidden!))).toBeLessThan(1e-5);
  await policy.dispose();
  expect(() => loadValueHead(join(dir, VALUE_HEAD_FILE), 32)).toThrow(/does not chain/);
});
