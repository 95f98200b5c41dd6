// /v1/completions against Hugging Face transformers on every fixture model (Llama, Llama in BF16,
// Qwen2 with a tied head, Mistral, GPT-2 with its tied wte head): a token-id prompt = the recorded
// prompt ids + a candidate's ids, echoed with logprobs 1, gives the candidate tokens' log-probs that
// transformers computed (float64, naive, scripts/fixtures/make_models.py), to 1e-4 as
// test/policy/hf-parity.test.ts; the top-1 alternative is never below the actual token, and the
// greedy next token (max_tokens 1) is at least as likely as every recorded candidate's first token;
// logprobs 20 on a recorded sequence gives every position's top 20 and the next token as transformers'
// float64 log-softmax does (scripts/fixtures/make_top_logprobs.py), to 1e-4.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { fixtureRoot as root, fixturesWith, readExpected, readTopRef } from '../hf-fixtures.js';
import { post, serve } from './harness.js';

// T5 (encoder-decoder, its own expected.json schema): test/policy/t5-parity.test.ts
const models = fixturesWith('expected.json');

describe.each(models)('%s', (name) => {
  test('echoed token log-probs equal transformers; top-1 and the greedy token are consistent', async () => {
    const exp = readExpected(join(root, name));
    const policy = await Policy.load(join(root, name), { threads: 1, device: 'cpu' });
    const s = await serve(policy, { modelName: name });
    try {
      for (const p of exp.prompts.slice(0, 2)) {
        const prompt = p.candidates.map((c) => [...p.prompt_ids, ...c.ids]);
        const r = await post(`${s.url}/v1/completions`, { model: name, prompt, echo: true, logprobs: 1, max_tokens: 0 });
        expect(r.status).toBe(200);
        p.candidates.forEach((c, k) => {
          const lp = r.body.choices[k].logprobs;
          const got = lp.token_logprobs.slice(p.prompt_ids.length) as number[];
          got.forEach((x, i) => expect(Math.abs(x - c.token_logprobs[i]!), `${name} candidate ${k} token ${i}`).toBeLessThan(1e-4));
          for (let t = 1; t < lp.tokens.length; ++t) {
            expect(Math.max(...(Object.values(lp.top_logprobs[t]) as number[]))).toBeGreaterThanOrEqual(lp.token_logprobs[t] - 1e-6);
          }
        });
        const g = await post(`${s.url}/v1/completions`, { model: name, prompt: p.prompt_ids, max_tokens: 1, logprobs: 1 });
        const best = g.body.choices[0].logprobs.token_logprobs[0] as number;
        for (const c of p.candidates) expect(best).toBeGreaterThanOrEqual(c.token_logprobs[0]! - 1e-4);
      }
      const top = readTopRef(join(root, name));
      for (const seq of top.sequences) {
        const P = seq.ids.length;
        const r = await post(`${s.url}/v1/completions`, { model: name, prompt: seq.ids, echo: true, logprobs: 20, max_tokens: 1 });
        expect(r.status).toBe(200);
        const lp = r.body.choices[0].logprobs;
        expect(lp.top_logprobs).toHaveLength(P + 1);
        for (let t = 1; t <= P; ++t) { // entry t holds the distribution after token t-1: the fixture's position t-1
          const want = seq.positions[t - 1]!;
          const near = (v: number) => want.logprobs.some((w) => Math.abs(w - v) < 1e-4);
          const alts = Object.entries(lp.top_logprobs[t] as Record<string, number>).filter(([k]) => k !== lp.tokens[t]).map(([, v]) => v);
          alts.forEach((v) => expect(near(v), `${name} position ${t - 1}: ${v}`).toBe(true));
          expect(Math.max(...Object.values(lp.top_logprobs[t] as Record<string, number>))).toBeCloseTo(want.logprobs[0]!, 4);
        }
        expect(Math.abs(lp.token_logprobs[P] - seq.positions[P - 1]!.logprobs[0]!)).toBeLessThan(1e-4); // the greedy next token
      }
    } finally {
      await s.server.close();
      await policy.dispose();
    }
  });
});
