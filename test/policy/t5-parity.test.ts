// T5 against Hugging Face transformers: token ids of the Unigram tokenizer, candidate log-probs
// (computed the naive way in PyTorch float64: encoder(prompt), decoder input [0] + candidate) and the
// decoder's final-normed hidden state at position 0 (the value head's input), recorded by
// scripts/fixtures/make_t5.py for T5 v1.0 (ReLU, tied head with the d_model ** -0.5 rescale, F32) and
// v1.1 / Flan-T5 (gated-gelu, untied, BF16 in two shards), both with d_kv != d_model / heads, more
// decoder than encoder layers and prompts 4-9x the bias's max distance. Tolerance 1e-4 absolute.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';

interface Cand {
  text: string; ids: number[]; logprob: number; token_logprobs: number[]; logprob_lamorel: number; token_logprobs_lamorel: number[];
}
interface Expected {
  d_model: number;
  tokenizer: { text: string; ids: number[] }[];
  tokenizer_with_specials: { text: string; ids: number[] }[];
  prompts: { prompt: string; prompt_ids: number[]; prompt_ids_lamorel: number[]; decoder_hidden_first: number[]; candidates: Cand[] }[];
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

  test('the two tokenizations differ (the </s> changes the encoder output)', () => {
    const d = exp.prompts.flatMap((p) => p.candidates.map((c) => Math.abs(c.logprob - c.logprob_lamorel)));
    expect(Math.max(...d)).toBeGreaterThan(1e-2);
  });
});
