// Training API contract: microbatches accumulate, handles are single-use and owned, step returns the
// pre-clip norm, and a save + load resumes bit-identically (the step after resuming equals the step
// an uninterrupted run takes), for full fine-tuning and LoRA.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import type { TrainingOptions } from '../../lib/policy/training.js';
import { errorCode } from '../glam-error.js';

const fixture = join(__dirname, '..', 'fixtures', 'models', 'llama');
const prompts = ['Goal of the agent: go to the red ball\nObservation: You see a wall 2 steps forward\nAction:', 'Goal: open the door'];
const candidates = [[' turn left', ' go forward', ' pick up'], [' toggle', ' drop']];
const w = [0.3, -0.2, 0.5, 0.1, -0.4];
const u = [0.7, -0.6];
const stepOpts = { lr: 1e-3, betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0.5 };

async function trainStep(p: Policy): Promise<number> {
  await p.zeroGrad();
  const f = await p.forward({ prompts, candidates }, { grad: true });
  await p.backward(f.handle, w, u);
  return p.step(stepOpts);
}


describe.each<TrainingOptions>([{ mode: 'full' }, { mode: 'lora', rank: 4, alpha: 8, seed: 1 }])('%o', (opts) => {
  test('two half-batches accumulate to the full batch gradient', async () => {
    const p = await Policy.load(fixture, { threads: 2, valueHidden: [16, 16] });
    p.enableTraining(opts);
    const f = await p.forward({ prompts, candidates }, { grad: true });
    await p.backward(f.handle, w, u);
    const scope = opts.mode === 'full' ? 'model' : 'lora';
    const full = p.exportTensors('grads', scope);
    await p.zeroGrad();
    const f1 = await p.forward({ prompts: prompts.slice(0, 1), candidates: candidates.slice(0, 1) }, { grad: true });
    const f2 = await p.forward({ prompts: prompts.slice(1), candidates: candidates.slice(1) }, { grad: true });
    await p.backward(f2.handle, w.slice(3), u.slice(1));
    await p.backward(f1.handle, w.slice(0, 3), u.slice(0, 1));
    const acc = p.exportTensors('grads', scope);
    let maxRel = 0;
    for (const [n, t] of Object.entries(full)) {
      let num = 0;
      let den = 0;
      t.data.forEach((g, i) => {
        num += (g - acc[n]!.data[i]!) ** 2;
        den += g * g;
      });
      if (den > 0) maxRel = Math.max(maxRel, Math.sqrt(num / den));
    }
    expect(maxRel).toBeLessThan(1e-5);
    await p.dispose();
  });

  test('handles: single use, owned by their Policy, gradient lengths checked', async () => {
    const a = await Policy.load(fixture, { threads: 1, valueHidden: [16, 16] });
    const b = await Policy.load(fixture, { threads: 1, valueHidden: [16, 16] });
    a.enableTraining(opts);
    b.enableTraining(opts);
    const fa = await a.forward({ prompts, candidates }, { grad: true });
    expect(await errorCode(b.backward(fa.handle, w, u))).toBe('HandleInvalid');
    expect(await errorCode(a.backward(fa.handle, w.slice(1), u))).toBe('InvalidArgument');
    await a.backward(fa.handle, w, u);
    expect(await errorCode(a.backward(fa.handle, w, u))).toBe('HandleInvalid');
    expect(fa.cacheBytes).toBeGreaterThan(0);
    await a.dispose();
    await b.dispose();
    const c = await Policy.load(fixture, { threads: 1 });
    expect(await errorCode(c.forward({ prompts, candidates }, { grad: true }))).toBe('InvalidArgument'); // training not enabled
    await c.dispose();
  });

  test('save + load resumes bit-identically', async () => {
    const run = await Policy.load(fixture, { threads: 2, valueHidden: [16, 16] });
    run.enableTraining(opts);
    const n1 = await trainStep(run);
    expect(n1).toBeGreaterThan(0);
    const dir = join(mkdtempSync(join(tmpdir(), 'glam-ckpt-')), 'ckpt');
    await run.save(dir);
    expect(existsSync(join(dir, opts.mode === 'full' ? 'model.safetensors' : 'adapter_model.safetensors'))).toBe(true);
    if (opts.mode === 'lora') {
      const ac = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { peft_type: string; r: number };
      expect(ac.peft_type).toBe('LORA');
      expect(ac.r).toBe(4);
    }
    await trainStep(run);
    const resumed = await Policy.load(dir, { threads: 2 });
    expect(resumed.trainingInfo().step).toBe(1);
    await trainStep(resumed);
    const scope = opts.mode === 'full' ? 'model' : 'lora';
    for (const sc of [scope, 'value_head'] as const) {
      const x = run.exportTensors('params', sc);
      const y = resumed.exportTensors('params', sc);
      expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
      for (const [n, t] of Object.entries(x)) expect(Buffer.from(y[n]!.data.buffer).equals(Buffer.from(t.data.buffer)), n).toBe(true);
    }
    const r1 = await run.score({ prompts, candidates });
    const r2 = await resumed.score({ prompts, candidates });
    expect(Array.from(r2.logprobs)).toEqual(Array.from(r1.logprobs));
    await run.dispose();
    await resumed.dispose();
  });
});

test('frozen embeddings / LM head hold no gradient; the value head always trains', async () => {
  for (const [opts, absent] of [
    [{ mode: 'full', freezeEmbeddings: true }, 'model.embed_tokens.weight'],
    [{ mode: 'full', freezeLmHead: true }, 'lm_head.weight'],
  ] as const) {
    const p = await Policy.load(fixture, { threads: 1, valueHidden: [16, 16] });
    p.enableTraining(opts);
    const f = await p.forward({ prompts, candidates }, { grad: true });
    await p.backward(f.handle, w, u);
    const g = p.exportTensors('grads', 'model');
    expect(g[absent]).toBeUndefined();
    expect(Object.keys(g).length).toBeGreaterThan(10);
    expect(Object.keys(p.exportTensors('grads', 'value_head')).length).toBe(6);
    const before = p.exportTensors('params', 'model')[absent]!.data.slice();
    await p.step(stepOpts);
    expect(Buffer.from(p.exportTensors('params', 'model')[absent]!.data.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    await p.dispose();
  }
});

test('a checkpoint saved from a policy whose directory is gone still holds the tokenizer (issue 11)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'glam-tok-'));
  const first = join(root, 'first'), second = join(root, 'second');
  const p = await Policy.load(fixture, { threads: 2, valueHidden: [16, 16] });
  p.enableTraining({ mode: 'full' });
  await trainStep(p);
  await p.save(first);
  await p.dispose();
  const q = await Policy.load(first, { threads: 2 });
  rmSync(first, { recursive: true, force: true }); // a run prunes the checkpoint it resumed from
  await q.save(second);
  await q.dispose();
  expect(readFileSync(join(second, 'tokenizer.json'))).toEqual(readFileSync(join(fixture, 'tokenizer.json')));
  const r = await Policy.load(second, { threads: 2 });
  expect((await r.score({ prompts, candidates })).logprobs.length).toBe(5);
  await r.dispose();
  rmSync(root, { recursive: true, force: true });
});
