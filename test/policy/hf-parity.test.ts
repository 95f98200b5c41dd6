// The engine against Hugging Face transformers: token ids, candidate log-probs (computed the naive
// way in PyTorch, float64) and last-token hidden states recorded by scripts/fixtures/make_models.py,
// for Llama (GQA, llama3 RoPE, untied, SentencePiece-style BPE), Llama in BF16, Qwen2 (tied, q/k/v
// bias, sharded F16), Mistral and GPT-2. Tolerance 1e-4 absolute, as the issue states.
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { expectedErrors, expectedTokens, fixtureRoot as root, fixturesWith, readExpected } from '../hf-fixtures.js';

// T5 (encoder-decoder, its own expected.json schema): test/policy/t5-parity.test.ts
const models = fixturesWith('expected.json');

test('fixtures exist for every supported architecture', () => {
  expect(models).toEqual(expect.arrayContaining(['llama', 'llama-bf16', 'qwen2', 'mistral', 'gpt2']));
});

describe.each(models)('%s', (name) => {
  const dir = join(root, name);
  const exp = readExpected(dir);
  let policy: Policy;
  beforeAll(async () => {
    policy = await Policy.load(dir, { threads: 2 });
  });
  afterAll(async () => policy.dispose());

  test('token ids equal the Rust tokenizers', () => {
    for (const t of exp.tokenizer) expect(policy.tokenizer.encode(t.text, false), JSON.stringify(t.text)).toEqual(t.ids);
    for (const t of exp.tokenizer_with_specials) expect(policy.tokenizer.encode(t.text, true), JSON.stringify(t.text)).toEqual(t.ids);
  });

  test('text scoring tokenizes prompts with specials and candidates without', () => {
    for (const p of exp.prompts) {
      expect(policy.tokenizer.encode(p.prompt, true)).toEqual(p.prompt_ids);
      for (const c of p.candidates) expect(policy.tokenizer.encode(c.text, false)).toEqual(c.ids);
    }
  });

  for (const mode of ['fused', 'naive'] as const) {
    test(`${mode} log-probs and hidden states match transformers within 1e-4`, async () => {
      const r = await policy.scoreTokens(expectedTokens(exp), { mode, hidden: true });
      const { logprob: maxLp, hidden: maxH } = expectedErrors(exp, r);
      console.log(`${name} ${mode}: max |Δ logprob| = ${maxLp.toExponential(2)}, max |Δ hidden| = ${maxH.toExponential(2)}`);
      expect(maxLp).toBeLessThan(1e-4);
      expect(maxH).toBeLessThan(1e-4);
    });
  }

  test('the fused pass equals the naive mode (text API, both tokenizations)', async () => {
    const prompts = exp.prompts.map((p) => p.prompt);
    const candidates = exp.prompts.map((p) => p.candidates.map((c) => c.text));
    for (const tokenization of ['separate', 'joint'] as const) {
      const f = await policy.score({ prompts, candidates, tokenization });
      const n = await policy.score({ prompts, candidates, tokenization, mode: 'naive' });
      for (let k = 0; k < f.logprobs.length; ++k) expect(Math.abs(f.logprobs[k]! - n.logprobs[k]!)).toBeLessThan(2e-5);
      for (let b = 0; b < f.values.length; ++b) expect(Math.abs(f.values[b]! - n.values[b]!)).toBeLessThan(1e-5);
      for (let b = 0; b + 1 < f.candOffset.length; ++b) {
        let s = 0;
        for (let k = f.candOffset[b]!; k < f.candOffset[b + 1]!; ++k) s += f.probs[k]!;
        expect(s).toBeCloseTo(1, 5);
      }
    }
  });
});
