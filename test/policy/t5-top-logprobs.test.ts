// T5's topN (T5Engine::score_top: the fused T5 pass + native/model/prompt_logprobs.cpp) against
// transformers in float64: scripts/fixtures/make_t5.py recorded first_step.json, the decoder's
// first-step distribution (encoder input the prompt, decoder input [decoder_start]) over the whole
// vocabulary for every expected.json prompt in both tokenizations. A prompt scored with a one-token
// candidate puts that candidate's token on the first step's row, so its top 20 must be transformers'
// best 20: the values to 1e-4 (test/policy/t5-parity.test.ts's tolerance), each id the one
// transformers ranks there or, at a near-tie, one whose float64 log-prob equals the value to 1e-4.
// v1.0 checks the alternatives read the head's rescaled input (d_model ** -0.5), v1.1 the untied head.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';

interface FirstStep {
  decoder_start_token_id: number;
  k: number;
  rows: { id: string; tokenization: 'separate' | 'lamorel'; prompt_ids: number[]; top_ids: number[]; top_logprobs: number[]; logprobs: number[] }[];
}

const N = 20;
const root = join(__dirname, '..', 'fixtures', 'models');

describe.each(['t5-v1_0', 't5-v1_1'])('%s', (name) => {
  const ref = JSON.parse(readFileSync(join(root, name, 'first_step.json'), 'utf8')) as FirstStep;
  let policy: Policy;
  beforeAll(async () => {
    policy = await Policy.load(join(root, name), { threads: 1, device: 'cpu' });
  });
  afterAll(async () => policy?.dispose());

  test('the decoder\'s first step: top 20 over the vocabulary equals transformers (float64), both tokenizations', async () => {
    expect(ref.rows.length).toBe(8);
    let worst = 0;
    for (const row of ref.rows) {
      const placeholder = row.prompt_ids.at(-1)!; // any id: only its row is read
      const r = await policy.scoreTokens({ prompts: [row.prompt_ids], candidates: [[[placeholder]]] }, { topN: N });
      expect(r.topIds!.length).toBe(N);
      for (let j = 0; j < N; ++j) {
        const id = r.topIds![j]!, lp = r.topLogprobs![j]!;
        const where = `${name} ${row.id} ${row.tokenization} rank ${j}`;
        worst = Math.max(worst, Math.abs(lp - row.top_logprobs[j]!));
        expect(Math.abs(lp - row.top_logprobs[j]!), where).toBeLessThan(1e-4);
        if (id !== row.top_ids[j]) expect(Math.abs(row.logprobs[id]! - lp), `${where}: near-tie id ${id}`).toBeLessThan(1e-4);
      }
      // the scorer's own log-prob of the candidate token is the same distribution's entry
      expect(Math.abs(r.tokenLogprobs[0]! - row.logprobs[placeholder]!)).toBeLessThan(1e-4);
    }
    console.log(`${name}: max |Δ top-20 log-prob| vs transformers float64 = ${worst.toExponential(2)}`);
  });

  test('a batch of prompts and multi-token candidates: each candidate\'s first token has its prompt\'s first step', async () => {
    const rows = ref.rows.filter((r) => r.tokenization === 'separate');
    const cands = rows.map((r) => [[r.top_ids[0]!, 5, 6], [r.top_ids[1]!]]);
    const r = await policy.scoreTokens({ prompts: rows.map((x) => x.prompt_ids), candidates: cands }, { topN: 3 });
    // tokens in order: candidate (b, 0) has 3 tokens, (b, 1) one
    rows.forEach((row, b) => {
      for (const t of [4 * b, 4 * b + 3]) {
        for (let j = 0; j < 3; ++j) expect(Math.abs(r.topLogprobs![t * 3 + j]! - row.top_logprobs[j]!)).toBeLessThan(1e-4);
      }
      expect(Math.abs(r.tokenLogprobs[4 * b]! - row.top_logprobs[0]!)).toBeLessThan(1e-4); // the greedy token is the best
    });
  });
});
