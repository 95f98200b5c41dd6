// scoreTokens' topN (native/model/prompt_logprobs.cpp) against Hugging Face transformers in float64:
// scripts/fixtures/make_top_logprobs.py recorded, for two sequences per fixture model (Llama, Llama in
// BF16, Qwen2 with a tied head, Mistral, GPT-2), the whole vocabulary's log-softmax at every position
// and its best 21. One fused pass of [x0] + [x1 .. x_{P-1}, placeholder] must give every position's
// top 20: the values to 1e-4 (the tolerance of test/policy/hf-parity.test.ts), each id the one
// transformers ranks there (or, at a near-tie, one whose float64 log-prob equals the value to 1e-4).
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { fixtureRoot as root, fixturesWith, readTopRef, topNTokens } from '../hf-fixtures.js';

const N = 20;
const models = fixturesWith('top_logprobs.json');

test('top-N fixtures exist for every architecture', () => {
  expect(models).toEqual(expect.arrayContaining(['llama', 'llama-bf16', 'qwen2', 'mistral', 'gpt2']));
});

describe.each(models)('%s', (name) => {
  test('every position\'s top 20 over the vocabulary equals transformers (float64) in one pass', async () => {
    const ref = readTopRef(join(root, name));
    const policy = await Policy.load(join(root, name), { threads: 1, device: 'cpu' });
    try {
      for (const seq of ref.sequences) {
        const P = seq.ids.length;
        const r = await policy.scoreTokens(topNTokens(seq.ids), { topN: N });
        expect(r.topIds!.length).toBe(P * N);
        for (let t = 0; t < P; ++t) {
          const want = seq.positions[t]!;
          const lpOf = new Map(want.ids.map((v, j) => [v, want.logprobs[j]!]));
          for (let j = 0; j < N; ++j) {
            const id = r.topIds![t * N + j]!, lp = r.topLogprobs![t * N + j]!;
            const where = `${name} position ${t} rank ${j}`;
            expect(Math.abs(lp - want.logprobs[j]!), where).toBeLessThan(1e-4);
            if (id !== want.ids[j]) expect(Math.abs(lpOf.get(id)! - lp), `${where}: near-tie id ${id}`).toBeLessThan(1e-4);
          }
          // the scorer's own token log-prob is the same distribution's entry for the actual token
          if (want.actual !== null) expect(Math.abs(r.tokenLogprobs[t]! - want.actual)).toBeLessThan(1e-4);
        }
      }
    } finally {
      await policy.dispose();
    }
  });
});

test('topN is checked: an integer 0..64, fused only', async () => {
  const policy = await Policy.load(undefined, { threads: 1 });
  try {
    const t = { prompts: [[1, 2]], candidates: [[[3]]] };
    for (const topN of [-1, 1.5, 65, '3']) {
      await expect(policy.scoreTokens(t, { topN: topN as number })).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
    await expect(policy.scoreTokens(t, { topN: 2, mode: 'naive' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    const none = await policy.scoreTokens(t, { topN: 0 });
    expect(none.topIds).toBeUndefined();
  } finally {
    await policy.dispose();
  }
});
