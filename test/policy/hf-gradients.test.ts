// Training against PyTorch: gradients of L = sum w.logprob + sum u.value for every parameter (and
// the value head), and the weights after three clipped AdamW steps, recorded by
// scripts/fixtures/make_grads.py with transformers + torch autograd (float64) and peft for LoRA, on the
// Llama (GQA, llama3 RoPE, untied), Qwen2 (tied, q/k/v bias) and GPT-2 (Conv1D, tied) fixtures.
// Tolerances (the issue's): each tensor's gradient within 1e-4 relative error by norm; weights after
// three steps within 1e-5. GPT-2's key-bias gradient is analytically zero (softmax is shift-invariant),
// so AdamW turns its rounding noise into +-lr moves in any implementation: the fixture lists those
// elements and they are compared against their start instead (they may move by at most 3 lr). The same
// holds for elements whose reference gradient is non-zero but below fp32's resolution of the gradient
// (|g| < 1e-7 max|g|, e.g. LM-head rows of tokens with probability ~1e-9): AdamW divides by |g| + eps
// with eps = 1e-8, so their update is decided by digits no fp32 implementation computes. They are
// counted, printed and held to the same 3 lr bound; every other element is held to 1e-5.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { readSafetensorsFile } from '../../lib/io/safetensors.js';
import type { NativeTensorSet } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';
import type { TokenizedBatch } from '../../lib/policy/batch.js';
import type { TrainingOptions } from '../../lib/policy/training.js';

const root = join(__dirname, '..', 'fixtures', 'train');
// T5: test/policy/t5-gradients.test.ts
const models = readdirSync(root).filter((m) => existsSync(join(root, m, 'batch.json')) && !m.startsWith('t5-'));

interface Fixture {
  model_dir: string;
  value_head: { hidden: number[] };
  loss: { w: number[]; u: number[] };
  prompts: { prompt_ids: number[]; candidates: { ids: number[] }[] }[];
  logprobs: number[];
  values: number[];
  grads: { rounding_noise_elements: { tensor: string; flat_indices: string }[] };
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; max_norm: number; grad_norms: number[] };
  lora: { config: { r: number; lora_alpha: number; target_modules: string[] }; logprobs: number[]; values: number[];
    adamw: { max_norm: number; grad_norms: number[] } };
}

function tensors(file: string): NativeTensorSet {
  const out: NativeTensorSet = {};
  for (const [n, t] of readSafetensorsFile(file)) out[n] = { shape: t.shape, data: new Float32Array(new Uint8Array(t.data).buffer) };
  return out;
}

function pick(set: NativeTensorSet, pred: (n: string) => boolean): NativeTensorSet {
  return Object.fromEntries(Object.entries(set).filter(([n]) => pred(n)));
}

describe.each(models)('%s', (name) => {
  const dir = join(root, name);
  const fx = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8')) as Fixture;
  const batch: TokenizedBatch = { prompts: fx.prompts.map((p) => p.prompt_ids), candidates: fx.prompts.map((p) => p.candidates.map((c) => c.ids)) };
  const vh = pick(tensors(join(dir, 'value_head.safetensors')), (n) => n.startsWith('value_head.'));

  async function policyFor(opts: TrainingOptions, adapters?: NativeTensorSet): Promise<Policy> {
    const p = await Policy.load(join(dir, fx.model_dir), { threads: 2, valueHidden: fx.value_head.hidden });
    p.importTensors('params', 'value_head', vh);
    p.enableTraining(opts);
    if (adapters) p.importTensors('params', 'lora', adapters);
    return p;
  }

  function compareGrads(got: NativeTensorSet, want: NativeTensorSet): number {
    let worst = 0;
    for (const [n, t] of Object.entries(want)) {
      const g = got[n];
      expect(g, `gradient of ${n}`).toBeDefined();
      let num = 0;
      let den = 0;
      t.data.forEach((v, i) => {
        num += (g!.data[i]! - v) ** 2;
        den += v * v;
      });
      const rel = den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
      expect(rel, n).toBeLessThan(1e-4);
      worst = Math.max(worst, rel);
    }
    return worst;
  }

  function noise(): Map<string, Set<number>> {
    const m = new Map<string, Set<number>>();
    for (const e of fx.grads.rounding_noise_elements ?? []) {
      const [a, b] = e.flat_indices.split(':').map(Number);
      const s = m.get(e.tensor) ?? new Set<number>();
      for (let i = a!; i < b!; ++i) s.add(i);
      m.set(e.tensor, s);
    }
    return m;
  }

  async function threeSteps(p: Policy, maxNorm: number, norms: number[]): Promise<void> {
    for (let s = 0; s < 3; ++s) {
      await p.zeroGrad();
      const f = await p.forward({ tokens: batch }, { grad: true });
      await p.backward(f.handle, fx.loss.w, fx.loss.u);
      const n = await p.step({ lr: fx.adamw.lr, betas: fx.adamw.betas, eps: fx.adamw.eps, weightDecay: fx.adamw.weight_decay, maxGradNorm: maxNorm });
      expect(Math.abs(n - norms[s]!) / norms[s]!).toBeLessThan(1e-5);
    }
  }

  function compareWeights(got: NativeTensorSet, want: NativeTensorSet, start: NativeTensorSet, lr: number, grads: NativeTensorSet): number {
    const skip = noise();
    let gmax = 0;
    for (const t of Object.values(grads)) for (const v of t.data) gmax = Math.max(gmax, Math.abs(v));
    let conditioned = 0;
    let worst = 0;
    let where = '';
    for (const [n, t] of Object.entries(want)) {
      const g = got[n]!;
      const sk = skip.get(n);
      t.data.forEach((v, i) => {
        const gi = grads[n]?.data[i] ?? 0;
        if (sk?.has(i) || (gi !== 0 && Math.abs(gi) < 1e-7 * gmax)) {
          if (!sk?.has(i)) ++conditioned;
          expect(Math.abs(g.data[i]! - start[n]!.data[i]!)).toBeLessThanOrEqual(3 * lr * 1.01 + 1e-6);
          return;
        }
        const d = Math.abs(g.data[i]! - v);
        if (d > worst) {
          worst = d;
          where = `${n}[${i}]: got ${g.data[i]} want ${v} start ${start[n]!.data[i]}`;
        }
      });
    }
    expect(worst, where).toBeLessThan(1e-5);
    console.log(`${name}: ${conditioned} elements with 0 < |g| < 1e-7 max|g| (${(1e-7 * gmax).toExponential(1)}) held to 3 lr`);
    return worst;
  }

  test('full fine-tuning: forward, every gradient (1e-4 rel), three clipped AdamW steps (1e-5)', async () => {
    const p = await policyFor({ mode: 'full' });
    const f = await p.forward({ tokens: batch }, { grad: true });
    f.logprobs.forEach((lp, k) => expect(Math.abs(lp - fx.logprobs[k]!)).toBeLessThan(1e-4));
    f.values.forEach((v, b) => expect(Math.abs(v - fx.values[b]!)).toBeLessThan(1e-5));
    await p.backward(f.handle, fx.loss.w, fx.loss.u);
    const want = tensors(join(dir, 'grads.safetensors'));
    const got = { ...p.exportTensors('grads', 'model'), ...p.exportTensors('grads', 'value_head') };
    const worstGrad = compareGrads(got, want);
    await p.dispose();

    const q = await policyFor({ mode: 'full' });
    const start = { ...q.exportTensors('params', 'model'), ...q.exportTensors('params', 'value_head') };
    await threeSteps(q, fx.adamw.max_norm, fx.adamw.grad_norms);
    const after = { ...q.exportTensors('params', 'model'), ...q.exportTensors('params', 'value_head') };
    const worstW = compareWeights(after, tensors(join(dir, 'adamw3.safetensors')), start, fx.adamw.lr, want);
    console.log(`${name} full: worst gradient rel err ${worstGrad.toExponential(2)}, worst weight err after 3 AdamW steps ${worstW.toExponential(2)}`);
    await q.dispose();
  });

  if (existsSync(join(dir, 'lora', 'adapter_model.safetensors'))) {
    test('LoRA (peft): forward, adapter and value-head gradients, three AdamW steps on adapters only', async () => {
      const adapters = tensors(join(dir, 'lora', 'adapter_model.safetensors'));
      const opts: TrainingOptions = { mode: 'lora', rank: fx.lora.config.r, alpha: fx.lora.config.lora_alpha, targets: fx.lora.config.target_modules };
      const p = await policyFor(opts, adapters);
      const f = await p.forward({ tokens: batch }, { grad: true });
      f.logprobs.forEach((lp, k) => expect(Math.abs(lp - fx.lora.logprobs[k]!)).toBeLessThan(1e-4));
      await p.backward(f.handle, fx.loss.w, fx.loss.u);
      const got = { ...p.exportTensors('grads', 'lora'), ...p.exportTensors('grads', 'value_head') };
      expect(Object.keys(p.exportTensors('grads', 'model'))).toEqual([]); // frozen base: no gradient memory
      const loraWant = tensors(join(dir, 'lora_grads.safetensors'));
      const worstGrad = compareGrads(got, loraWant);
      await p.dispose();

      const q = await policyFor(opts, adapters);
      const start = { ...q.exportTensors('params', 'lora'), ...q.exportTensors('params', 'value_head') };
      const base = q.exportTensors('params', 'model');
      await threeSteps(q, fx.lora.adamw.max_norm, fx.lora.adamw.grad_norms);
      const after = { ...q.exportTensors('params', 'lora'), ...q.exportTensors('params', 'value_head') };
      const worstW = compareWeights(after, tensors(join(dir, 'lora_adamw3.safetensors')), start, fx.adamw.lr, loraWant);
      for (const [n, t] of Object.entries(q.exportTensors('params', 'model'))) expect(Buffer.from(t.data.buffer).equals(Buffer.from(base[n]!.data.buffer)), n).toBe(true);
      console.log(`${name} LoRA: worst gradient rel err ${worstGrad.toExponential(2)}, worst weight err after 3 AdamW steps ${worstW.toExponential(2)}`);
      await q.dispose();
    });
  }
});
