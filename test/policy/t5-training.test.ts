// T5 training beyond single gradients: LoRA on PEFT's T5 names (both stacks, cross attention
// included) against the full gradient it factors, checkpoints in transformers' and PEFT's layouts, and
// exact resume. (Gradients against torch autograd: t5-gradients.test.ts; finite differences:
// gradients-fd.test.ts.)
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import type { NativeTensorSet } from '../../lib/native/binding.js';
import { Policy } from '../../lib/policy/policy.js';

const root = join(__dirname, '..', 'fixtures', 'models');
const prompts = ['Goal of the agent: go to the red ball. You see a wall 2 steps forward', 'You carry a blue key. Open the door'];
const candidates = [['turn left', 'go forward', 'pick up the ball'], ['toggle', 'drop']];
const w = [0.5, -1, 0.25, 2, -0.75];
const u = [1, -0.5];

async function trainStep(p: Policy): Promise<number> {
  await p.zeroGrad();
  const f = await p.forward({ prompts, candidates }, { grad: true });
  await p.backward(f.handle, w, u);
  return p.step({ lr: 1e-3, weightDecay: 0.01, maxGradNorm: 1 });
}

describe.each(['t5-v1_0', 't5-v1_1'])('%s', (name) => {
  const dir = join(root, name);

  test('LoRA gradients are the full gradient at W + s B A, projected: dB = s dW A^T, dA = s B^T dW', async () => {
    const lora = await Policy.load(dir, { threads: 2, valueHidden: [8] });
    lora.enableTraining({ mode: 'lora', rank: 2, alpha: 6, seed: 1 });
    const ad = lora.exportTensors('params', 'lora');
    const names = Object.keys(ad).filter((n) => n.endsWith('lora_B.weight'));
    const mods = new Set(names.map((n) => n.split('.').at(-3)));
    expect([...mods].sort()).toEqual(name === 't5-v1_1' ? ['k', 'o', 'q', 'v', 'wi_0', 'wi_1', 'wo'] : ['k', 'o', 'q', 'v', 'wi', 'wo']);
    expect(names.some((n) => n.includes('EncDecAttention'))).toBe(true);
    // one adapter per block matrix of the checkpoint (PEFT's module = the tensor's name without ".weight")
    const matrices = Object.keys(lora.exportTensors('params', 'model')).filter((n) => /\.block\.\d+\..*\.(q|k|v|o|wi|wi_0|wi_1|wo)\.weight$/.test(n));
    expect(names.map((n) => n.replace(/^base_model\.model\./, '').replace(/\.lora_B\.weight$/, '.weight')).sort()).toEqual(matrices.sort());
    // non-zero B (PEFT starts at 0, which hides dA) from a fixed pattern
    let s = 1;
    for (const n of names) ad[n]!.data.forEach((_, i, a) => (a[i] = ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5) * 0.2));
    lora.importTensors('params', 'lora', ad);
    // the same model with the adapters merged, trained in full
    const full = await Policy.load(dir, { threads: 2, valueHidden: [8] });
    full.enableTraining({ mode: 'full' });
    const base = full.exportTensors('params', 'model');
    const scale = 6 / 2;
    const merged: NativeTensorSet = { ...base };
    const proj = (mod: string) => {
      const m = mod.replace(/^base_model\.model\./, '') + '.weight';
      const A = ad[`${mod}.lora_A.weight`]!, B = ad[`${mod}.lora_B.weight`]!;
      return { m, A, B, r: A.shape[0]!, inN: A.shape[1]!, outN: B.shape[0]! };
    };
    const modules = names.map((n) => n.replace(/\.lora_B\.weight$/, ''));
    for (const mod of modules) {
      const { m, A, B, r, inN, outN } = proj(mod);
      const W = Float32Array.from(merged[m]!.data);
      for (let o = 0; o < outN; ++o) for (let i = 0; i < inN; ++i) {
        let acc = 0;
        for (let k = 0; k < r; ++k) acc += B.data[o * r + k]! * A.data[k * inN + i]!;
        W[o * inN + i]! += scale * acc;
      }
      merged[m] = { shape: merged[m]!.shape, data: W };
    }
    full.importTensors('params', 'model', merged);
    const fl = await lora.forward({ prompts, candidates }, { grad: true });
    const ff = await full.forward({ prompts, candidates }, { grad: true });
    fl.logprobs.forEach((lp, k) => expect(Math.abs(lp - ff.logprobs[k]!)).toBeLessThan(1e-4));
    await lora.backward(fl.handle, w, u);
    await full.backward(ff.handle, w, u);
    const gl = lora.exportTensors('grads', 'lora');
    const gf = full.exportTensors('grads', 'model');
    let worst = 0;
    for (const mod of modules) {
      const { m, A, B, r, inN, outN } = proj(mod);
      const dW = gf[m]!.data;
      const dA = new Float64Array(r * inN), dB = new Float64Array(outN * r);
      for (let o = 0; o < outN; ++o) for (let i = 0; i < inN; ++i) for (let k = 0; k < r; ++k) {
        dB[o * r + k]! += scale * dW[o * inN + i]! * A.data[k * inN + i]!;
        dA[k * inN + i]! += scale * B.data[o * r + k]! * dW[o * inN + i]!;
      }
      for (const [got, want] of [[gl[`${mod}.lora_A.weight`]!.data, dA], [gl[`${mod}.lora_B.weight`]!.data, dB]] as const) {
        let num = 0, den = 0;
        want.forEach((v, i) => { num += (got[i]! - v) ** 2; den += v * v; });
        worst = Math.max(worst, Math.sqrt(num / den));
      }
    }
    console.log(`${name}: ${modules.length} adapters, worst relative LoRA gradient error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    await lora.dispose();
    await full.dispose();
  });

  test('scores and gradients do not depend on the thread count (bit for bit)', async () => {
    const run = async (threads: number) => {
      const p = await Policy.load(dir, { threads, valueHidden: [8] });
      p.enableTraining({ mode: 'full' });
      const f = await p.forward({ prompts, candidates }, { grad: true });
      await p.backward(f.handle, w, u);
      const g = p.exportTensors('grads', 'model');
      const r = { logprobs: Array.from(f.logprobs), values: Array.from(f.values), g };
      await p.dispose();
      return r;
    };
    const [a, b] = [await run(1), await run(3)];
    expect(b.logprobs).toEqual(a.logprobs);
    expect(b.values).toEqual(a.values);
    for (const [n, t] of Object.entries(a.g)) expect(Buffer.from(b.g[n]!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
  });

  for (const mode of ['full', 'lora'] as const) {
    test(`${mode}: a checkpoint in transformers' / PEFT's layout resumes bit-identically`, async () => {
      const opts = mode === 'full' ? { mode } : { mode, rank: 4, alpha: 8, seed: 2 };
      const run = await Policy.load(dir, { threads: 2, valueHidden: [16, 16] });
      run.enableTraining(opts);
      expect(await trainStep(run)).toBeGreaterThan(0);
      const ckpt = join(mkdtempSync(join(tmpdir(), 'glam-t5-')), 'ckpt');
      await run.save(ckpt);
      if (mode === 'lora') {
        const ac = JSON.parse(readFileSync(join(ckpt, 'adapter_config.json'), 'utf8')) as { task_type: string; target_modules: string[] };
        expect(ac.task_type).toBe('SEQ_2_SEQ_LM');
        expect(ac.target_modules).toContain('wo');
      } else {
        const cfg = JSON.parse(readFileSync(join(ckpt, 'config.json'), 'utf8')) as { architectures: string[] };
        expect(cfg.architectures).toEqual(['T5ForConditionalGeneration']);
        expect(existsSync(join(ckpt, 'model.safetensors'))).toBe(true);
      }
      await trainStep(run);
      const resumed = await Policy.load(ckpt, { threads: 2 });
      expect(resumed.trainingInfo().step).toBe(1);
      await trainStep(resumed);
      for (const sc of [mode === 'full' ? 'model' : 'lora', 'value_head'] as const) {
        const x = run.exportTensors('params', sc);
        const y = resumed.exportTensors('params', sc);
        expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
        for (const [n, t] of Object.entries(x)) expect(Buffer.from(y[n]!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
      }
      const [r1, r2] = [await run.score({ prompts, candidates }), await resumed.score({ prompts, candidates })];
      expect(Array.from(r2.logprobs)).toEqual(Array.from(r1.logprobs));
      await run.dispose();
      await resumed.dispose();
    });
  }
});
