// T5 against Hugging Face transformers: token ids of the Unigram tokenizer, candidate log-probs
// (computed the naive way in PyTorch float64: encoder(prompt), decoder input [0] + candidate) and the
// decoder's final-normed hidden state at position 0 (the value head's input), recorded by
// scripts/fixtures/make_t5.py for T5 v1.0 (ReLU, tied head with the d_model ** -0.5 rescale, F32) and
// v1.1 / Flan-T5 (gated-gelu, untied, BF16 in two shards), both with d_kv != d_model / heads, more
// decoder than encoder layers and prompts 4-9x the bias's max distance. Tolerance 1e-4 absolute.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { loadModelFiles } from '../../lib/io/model-files.js';
import { cpuTestHooks } from '../../lib/native/test-hooks.js';
import { Policy } from '../../lib/policy/policy.js';

interface Cand {
  text: string; ids: number[]; logprob: number; token_logprobs: number[]; logprob_lamorel: number; token_logprobs_lamorel: number[];
}
interface Expected {
  d_model: number;
  config: { relative_attention_num_buckets: number; relative_attention_max_distance: number };
  buckets: { from: number; bidirectional: number[]; causal: number[] };
  tokenizer: { text: string; ids: number[] }[];
  tokenizer_with_specials: { text: string; ids: number[] }[];
  prompts: { prompt: string; prompt_ids: number[]; prompt_ids_lamorel: number[]; encoder_hidden: number[]; decoder_hidden_first: number[];
    candidates: Cand[] }[];
}

const root = join(__dirname, '..', 'fixtures', 'models');

describe.each(['t5-v1_0', 't5-v1_1'])('%s', (name) => {
  const dir = join(root, name);
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  let policy: Policy;
  beforeAll(async () => {
    policy = await Policy.load(dir, { threads: 2 });
  });
  afterAll(async () => policy.dispose());

  test('the config is read as T5 with its odd shapes', () => {
    const c = policy.config;
    expect(c.family).toBe('t5');
    expect(c.numHeads * c.headDim).not.toBe(c.hiddenSize);
    expect(c.t5!.numDecoderLayers).toBeGreaterThan(c.numLayers);
    expect(c.t5!.scaleDecoderOutputs).toBe(name === 't5-v1_0');
    expect(c.t5!.gatedAct).toBe(name === 't5-v1_1');
    expect(policy.device).toBe('cpu');
  });

  test('token ids equal transformers (Unigram, </s> appended with specials)', () => {
    for (const t of exp.tokenizer) expect(policy.tokenizer.encode(t.text, false), JSON.stringify(t.text)).toEqual(t.ids);
    for (const t of exp.tokenizer_with_specials) expect(policy.tokenizer.encode(t.text, true), JSON.stringify(t.text)).toEqual(t.ids);
    for (const p of exp.prompts) {
      expect(policy.tokenizer.encode(p.prompt, true)).toEqual(p.prompt_ids);
      expect(p.prompt_ids.at(-1)).toBe(1); // </s>
      expect(policy.tokenizer.encode(p.prompt, false)).toEqual(p.prompt_ids_lamorel);
      for (const c of p.candidates) expect(policy.tokenizer.encode(c.text, false)).toEqual(c.ids);
    }
  });

  for (const mode of ['fused', 'naive'] as const) {
    for (const tokenization of ['separate', 'lamorel'] as const) {
      test(`${mode}, ${tokenization} tokenization: log-probs and decoder hidden match transformers within 1e-4`, async () => {
        const r = await policy.score({
          prompts: exp.prompts.map((p) => p.prompt), candidates: exp.prompts.map((p) => p.candidates.map((c) => c.text)),
          mode, tokenization, hidden: true,
        });
        const C = exp.d_model;
        let maxLp = 0;
        let maxH = 0;
        let k = 0;
        exp.prompts.forEach((p, b) => {
          for (const c of p.candidates) {
            const [lp, tok] = tokenization === 'lamorel' ? [c.logprob_lamorel, c.token_logprobs_lamorel] : [c.logprob, c.token_logprobs];
            maxLp = Math.max(maxLp, Math.abs(r.logprobs[k]! - lp));
            tok.forEach((t, j) => (maxLp = Math.max(maxLp, Math.abs(r.tokenLogprobs[r.tokenOffset[k]! + j]! - t))));
            ++k;
          }
          if (tokenization === 'separate') p.decoder_hidden_first.forEach((h, i) => (maxH = Math.max(maxH, Math.abs(r.hidden![b * C + i]! - h))));
        });
        console.log(`${name} ${mode} ${tokenization}: max |Δ logprob| = ${maxLp.toExponential(2)}, max |Δ hidden| = ${maxH.toExponential(2)}`);
        expect(k).toBe(r.logprobs.length);
        expect(maxLp).toBeLessThan(1e-4);
        expect(maxH).toBeLessThan(1e-4);
      });
    }
  }

  test("relative position buckets equal transformers' tables (both directions, up to the clamp and past it)", () => {
    const n = exp.buckets.bidirectional.length;
    const rels = Int32Array.from({ length: n }, (_, i) => exp.buckets.from + i);
    const { relative_attention_num_buckets: nb, relative_attention_max_distance: md } = exp.config;
    expect(Array.from(cpuTestHooks().t5.buckets(rels, true, nb, md))).toEqual(exp.buckets.bidirectional);
    expect(Array.from(cpuTestHooks().t5.buckets(rels, false, nb, md))).toEqual(exp.buckets.causal);
    // the tables reach every bucket but nb/2 (rel > 0 at distance 0 cannot happen)
    expect([...new Set(exp.buckets.bidirectional)].sort((a, b) => a - b)).toEqual([...Array(nb).keys()].filter((b) => b !== nb / 2));
    expect(new Set(exp.buckets.causal).size).toBe(nb);
  });

  test('encoder hidden states (final-normed, every prompt position) match transformers within 1e-4', () => {
    const { config, weights } = loadModelFiles(dir);
    let worst = 0;
    for (const p of exp.prompts) {
      const got = cpuTestHooks().t5.encode(config, Object.fromEntries(weights), Int32Array.from(p.prompt_ids));
      expect(got.length).toBe(p.encoder_hidden.length);
      p.encoder_hidden.forEach((h, i) => (worst = Math.max(worst, Math.abs(got[i]! - h))));
    }
    console.log(`${name}: max |Δ encoder hidden| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });

  test('the two tokenizations differ (the </s> changes the encoder output)', () => {
    const d = exp.prompts.flatMap((p) => p.candidates.map((c) => Math.abs(c.logprob - c.logprob_lamorel)));
    expect(Math.max(...d)).toBeGreaterThan(1e-2);
  });
});
