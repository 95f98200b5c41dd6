// T5 (T5ForConditionalGeneration) on the GPU against the CPU T5 engine, on the transformers fixtures
// the CPU tests use (test/fixtures/models/t5-v1_0: ReLU, tied head with the d_model ** -0.5 rescale;
// t5-v1_1: Flan-T5's gated-GELU, untied), through the same Policy API:
//  - fp32 scoring, fused and naive: log-probs, token log-probs, values and the decoder's hidden state
//    at position 0 (the value head's input) within 1e-4 absolute of the CPU engine (which matches
//    transformers within 1e-4: test/policy/t5-parity.test.ts);
//  - fp32 training (full): the training forward's log-probs and values within 1e-4 absolute, EVERY
//    gradient (both stacks, relative biases, head, value head) within 1e-4 relative by norm per
//    tensor; three clipped AdamW steps: each pre-clip norm within 1e-5 relative, and each tensor's
//    total update within 1e-2 relative by norm of the CPU engine's, except elements whose gradient is
//    below fp32's resolution (|g| < 1e-7 max|g|), which may move by +-lr either way in any fp32
//    implementation (see test/gpu/training.test.ts) and are held to a 3 lr move instead;
//  - LoRA (PEFT's T5 targets in both stacks, cross attention included): adapter and value-head
//    gradients within 1e-4 relative, and after three steps the base weights bit-identical;
//  - fp32 top-N (scoreTokens' topN: Engine::score_top): every target token's top 20 log-probs within
//    1e-4 of the CPU engine's, each id the CPU's at that rank or a near-tie of the same value;
//  - bf16 scoring within 2e-2 relative (|d| <= 2e-2 max(1, |log p|)) of the fp32 CPU engine: the
//    bound test/gpu/scoring.test.ts documents for bf16 against fp32.
// Subtle: the acceptance test of the CUDA T5 engine (native/cuda/cuda_t5_engine.h), written before a
// GPU was available to run it. device 'auto' still picks the CPU for T5 until it has passed.
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import type { NativeTensorSet } from '../../lib/native/binding.js';
import type { TokenizedBatch } from '../../lib/policy/batch.js';
import { Policy } from '../../lib/policy/policy.js';
import type { TrainingOptions } from '../../lib/policy/training.js';
import { gpu, maxAbs, maxRel1, suite } from './gpu.js';

const root = join(__dirname, '..', 'fixtures', 'models');
const w = [0.5, -1, 0.25, 2, -0.75, 1.5, -0.3, 0.8, -1.2, 0.6, 0.9, -0.4];
const adamw = { lr: 1e-3, weightDecay: 0.01, maxGradNorm: 1 };

interface Expected { prompts: { prompt_ids: number[]; candidates: { ids: number[] }[] }[] }

/** ||got - want|| / ||want|| (absolute when want is zero); non-finite: Infinity. */
function relNorm(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < want.length; ++i) {
    if (!Number.isFinite(got[i]!)) return Infinity;
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

describe.skipIf(!gpu.ok)(suite('T5 on the CUDA backend vs the CPU T5 engine'), () => {
  describe.each(['t5-v1_0', 't5-v1_1'])('%s', (name) => {
    const dir = join(root, name);
    const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    const tokens: TokenizedBatch = { prompts: exp.prompts.map((p) => p.prompt_ids), candidates: exp.prompts.map((p) => p.candidates.map((c) => c.ids)) };
    const N = tokens.candidates.flat().length, B = tokens.prompts.length;
    const loss = { w: Array.from({ length: N }, (_, k) => w[k % w.length]!), u: Array.from({ length: B }, (_, b) => (b % 2 ? -0.5 : 1)) };
    const load = (device: 'cpu' | 'cuda', precision: 'fp32' | 'bf16' = 'fp32') =>
      Policy.load(dir, { device, precision: device === 'cpu' ? undefined : precision, threads: 2, valueHidden: [8], valueSeed: 3 });
    let cpu: Policy;
    beforeAll(async () => {
      cpu = await load('cpu');
    });
    afterAll(async () => cpu.dispose());

    test.each(['fused', 'naive'] as const)('fp32 %s: log-probs, token log-probs, values and hidden states within 1e-4', async (mode) => {
      const g = await load('cuda');
      expect(g.device).toBe('cuda');
      const [want, got] = [await cpu.scoreTokens(tokens, { mode, hidden: true }), await g.scoreTokens(tokens, { mode, hidden: true })];
      const err = { lp: maxAbs(got.logprobs, want.logprobs), tok: maxAbs(got.tokenLogprobs, want.tokenLogprobs),
        v: maxAbs(got.values, want.values), h: maxAbs(got.hidden!, want.hidden!) };
      console.log(`${name} fp32 ${mode} vs CPU:`, err);
      for (const e of Object.values(err)) expect(e).toBeLessThanOrEqual(1e-4);
      await g.dispose();
    });

    test('fp32 top-N (score_top): every target token\'s top 20 equals the CPU T5 engine\'s within 1e-4', async () => {
      // the CPU engine's top 25 (a near-tie at rank 20 may swap with rank 20 + i) vs the GPU's top 20
      const K = 20, KC = K + 5;
      const g = await load('cuda');
      const [want, got] = [await cpu.scoreTokens(tokens, { topN: KC }), await g.scoreTokens(tokens, { topN: K })];
      const T = want.tokenLogprobs.length;
      expect(got.topIds!.length).toBe(T * K);
      expect(maxAbs(got.tokenLogprobs, want.tokenLogprobs)).toBeLessThanOrEqual(1e-4);
      let worst = 0;
      for (let t = 0; t < T; ++t) {
        const lpOf = new Map(Array.from({ length: KC }, (_, j) => [want.topIds![t * KC + j]!, want.topLogprobs![t * KC + j]!]));
        for (let j = 0; j < K; ++j) {
          const id = got.topIds![t * K + j]!, lp = got.topLogprobs![t * K + j]!, where = `${name} token ${t} rank ${j}`;
          const d = Math.abs(lp - want.topLogprobs![t * KC + j]!);
          worst = Math.max(worst, Number.isFinite(d) ? d : Infinity);
          expect(d, where).toBeLessThanOrEqual(1e-4);
          if (id !== want.topIds![t * KC + j]) expect(Math.abs((lpOf.get(id) ?? Infinity) - lp), `${where}: near-tie id ${id}`).toBeLessThanOrEqual(1e-4);
        }
      }
      console.log(`${name} fp32 top-${K} vs CPU: max |Δ log-prob| ${worst.toExponential(2)}`);
      await g.dispose();
    });

    test('bf16 fused: log-probs within 2e-2 relative of the fp32 CPU engine', async () => {
      const g = await load('cuda', 'bf16');
      const [want, got] = [await cpu.scoreTokens(tokens), await g.scoreTokens(tokens)];
      const e = maxRel1(got.logprobs, want.logprobs);
      console.log(`${name} bf16 vs fp32 CPU: ${e.toExponential(2)}`);
      expect(e).toBeLessThanOrEqual(2e-2);
      await g.dispose();
    });

    async function trained(device: 'cpu' | 'cuda', opts: TrainingOptions): Promise<Policy> {
      const p = await load(device);
      p.enableTraining(opts);
      return p;
    }
    async function gradients(p: Policy, scopes: ('model' | 'value_head' | 'lora')[]) {
      await p.zeroGrad();
      const f = await p.forward({ tokens }, { grad: true });
      await p.backward(f.handle, loss.w, loss.u);
      const g: NativeTensorSet = {};
      for (const s of scopes) Object.assign(g, p.exportTensors('grads', s));
      return { logprobs: f.logprobs, values: f.values, grads: g };
    }
    function compareGrads(got: NativeTensorSet, want: NativeTensorSet): void {
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      let worst = 0;
      for (const [n, t] of Object.entries(want)) {
        const rel = relNorm(got[n]!.data, t.data);
        expect(rel, `gradient of ${n}`).toBeLessThan(1e-4);
        worst = Math.max(worst, rel);
      }
      console.log(`${name}: ${Object.keys(want).length} gradients, worst relative error ${worst.toExponential(2)}`);
    }
    /**
     * Three clipped AdamW steps on both engines: pre-clip norms, and each tensor's update by norm.
     * grads: the CPU engine's first gradients; elements below fp32's resolution there (|g| < 1e-7 max|g|)
     * are held to a 3 lr move instead, as in test/gpu/training.test.ts.
     */
    async function compareSteps(c: Policy, g: Policy, scopes: ('model' | 'value_head' | 'lora')[], grads: NativeTensorSet) {
      const start = Object.assign({}, ...scopes.map((s) => c.exportTensors('params', s))) as NativeTensorSet;
      for (let s = 0; s < 3; ++s) {
        const norms: number[] = [];
        for (const p of [c, g]) {
          await p.zeroGrad();
          const f = await p.forward({ tokens }, { grad: true });
          await p.backward(f.handle, loss.w, loss.u);
          norms.push(await p.step(adamw));
        }
        expect(Math.abs(norms[1]! - norms[0]!) / norms[0]!, `pre-clip norm, step ${s + 1}`).toBeLessThan(1e-5);
      }
      let gmax = 0;
      for (const t of Object.values(grads)) for (const v of t.data) gmax = Math.max(gmax, Math.abs(v));
      for (const sc of scopes) {
        const want = c.exportTensors('params', sc), got = g.exportTensors('params', sc);
        for (const [n, t] of Object.entries(want)) {
          const dw: number[] = [], dg: number[] = [];
          t.data.forEach((v, i) => {
            const moved = got[n]!.data[i]! - start[n]!.data[i]!, gi = grads[n]?.data[i] ?? 0;
            if (gi !== 0 && Math.abs(gi) < 1e-7 * gmax) expect(Math.abs(moved)).toBeLessThanOrEqual(3 * adamw.lr * 1.01 + 1e-6);
            else (dw.push(v - start[n]!.data[i]!), dg.push(moved));
          });
          expect(relNorm(dg, dw), `update of ${n}`).toBeLessThan(1e-2);
        }
      }
    }

    test('fp32 full training: forward, every gradient within 1e-4, three AdamW steps', async () => {
      const [c, g] = [await trained('cpu', { mode: 'full' }), await trained('cuda', { mode: 'full' })];
      const [want, got] = [await gradients(c, ['model', 'value_head']), await gradients(g, ['model', 'value_head'])];
      expect(maxAbs(got.logprobs, want.logprobs)).toBeLessThanOrEqual(1e-4);
      expect(maxAbs(got.values, want.values)).toBeLessThanOrEqual(1e-4);
      compareGrads(got.grads, want.grads);
      await compareSteps(c, g, ['model', 'value_head'], want.grads);
      await c.dispose();
      await g.dispose();
    });

    test('fp32 LoRA: adapter and value-head gradients within 1e-4, three steps leave the base bit-identical', async () => {
      const opts: TrainingOptions = { mode: 'lora', rank: 2, alpha: 6, seed: 1 };
      const [c, g] = [await trained('cpu', opts), await trained('cuda', opts)];
      // non-zero B (PEFT starts at 0, which hides dA), the same on both engines
      const ad = c.exportTensors('params', 'lora');
      let s = 7;
      for (const [n, t] of Object.entries(ad)) if (n.endsWith('lora_B.weight')) t.data.forEach((_, i, a) => (a[i] = ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5) * 0.2));
      c.importTensors('params', 'lora', ad);
      g.importTensors('params', 'lora', ad);
      expect(maxAbs(g.exportTensors('params', 'lora')[Object.keys(ad)[0]!]!.data, ad[Object.keys(ad)[0]!]!.data)).toBe(0);
      const base = g.exportTensors('params', 'model');
      const [want, got] = [await gradients(c, ['lora', 'value_head']), await gradients(g, ['lora', 'value_head'])];
      compareGrads(got.grads, want.grads);
      await compareSteps(c, g, ['lora', 'value_head'], want.grads);
      const after = g.exportTensors('params', 'model');
      for (const [n, t] of Object.entries(base)) expect(Buffer.from(after[n]!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
      await c.dispose();
      await g.dispose();
    });
  });
});
