// The engine's exact gradients against finite differences (an oracle independent of PyTorch): for
// L = sum_k w_k logprob_k + sum_b u_b value_b, the directional derivative along a random direction
// over every parameter (model and value head) equals sum(grad . direction). fp32 forward passes bound
// the agreement (central differences, step 1e-2 over a unit-norm direction): 2e-3 relative.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { Rng } from '../../lib/util/rng.js';
import type { NativeTensorSet } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';

const root = join(__dirname, '..', 'fixtures', 'models');
const prompts = ['Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps forward\nAction:', 'You carry a blue key. Open the door'];
const candidates = [[' turn left', ' go forward', ' pick up the ball'], [' toggle', ' drop']];

function dot(a: NativeTensorSet, b: NativeTensorSet): number {
  let s = 0;
  for (const [n, t] of Object.entries(a)) {
    const u = b[n];
    if (!u) continue;
    for (let i = 0; i < t.data.length; ++i) s += t.data[i]! * u.data[i]!;
  }
  return s;
}

function axpy(x: NativeTensorSet, d: NativeTensorSet, h: number): NativeTensorSet {
  const out: NativeTensorSet = {};
  for (const [n, t] of Object.entries(x)) {
    const data = Float32Array.from(t.data);
    const dd = d[n];
    if (dd) for (let i = 0; i < data.length; ++i) data[i]! += h * dd.data[i]!;
    out[n] = { shape: t.shape, data };
  }
  return out;
}

function direction(set: NativeTensorSet, rng: Rng): NativeTensorSet {
  const out: NativeTensorSet = {};
  let ss = 0;
  for (const [n, t] of Object.entries(set)) {
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; ++i) {
      data[i] = rng.nextFloat() * 2 - 1;
      ss += data[i]! * data[i]!;
    }
    out[n] = { shape: t.shape, data };
  }
  const k = 1 / Math.sqrt(ss);
  for (const t of Object.values(out)) for (let i = 0; i < t.data.length; ++i) t.data[i]! *= k;
  return out;
}

describe.each(['llama', 'qwen2', 'gpt2', 'mistral', 't5-v1_0', 't5-v1_1'])('%s', (name) => {
  for (const mode of ['full', 'lora'] as const) {
    test(`${mode}: directional derivative = sum(grad . direction)`, async () => {
      const policy = await Policy.load(join(root, name), { threads: 2, valueHidden: [16, 16], valueSeed: 3 });
      policy.enableTraining(mode === 'full' ? { mode } : { mode, rank: 4, alpha: 8, seed: 5 });
      const rng = new Rng(7);
      const f = await policy.forward({ prompts, candidates }, { grad: true });
      const w = Array.from(f.logprobs, () => rng.nextFloat() * 2 - 1);
      const u = Array.from(f.values, () => rng.nextFloat() * 2 - 1);
      await policy.backward(f.handle, w, u);
      const loss = async (): Promise<number> => {
        const r = await policy.score({ prompts, candidates });
        let s = 0;
        r.logprobs.forEach((lp, k) => (s += w[k]! * lp));
        r.values.forEach((v, b) => (s += u[b]! * v));
        return s;
      };
      const scope = mode === 'full' ? 'model' : 'lora';
      let analytic = 0;
      let numeric = 0;
      for (const sc of [scope, 'value_head'] as const) {
        const params = policy.exportTensors('params', sc);
        const grads = policy.exportTensors('grads', sc);
        const d = direction(grads, rng);
        const h = 1e-2;
        const imp = (x: NativeTensorSet) => policy.importTensors('params', sc, x);
        imp(axpy(params, d, h));
        const lp = await loss();
        imp(axpy(params, d, -h));
        const lm = await loss();
        imp(params);
        analytic += dot(grads, d);
        numeric += (lp - lm) / (2 * h);
      }
      console.log(`${name} ${mode}: analytic ${analytic.toExponential(5)} numeric ${numeric.toExponential(5)}`);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic)));
      await policy.dispose();
    });
  }
});
