// POST /v1/score over HTTP against Policy.score in-process: the same log-probs, probabilities, token
// counts, per-token log-probs and values (text prompts, joint tokenization, naive mode, values only),
// the untrained value head flagged, and typed 400s for bad shapes.
import { afterAll, beforeAll, expect, test } from 'vitest';

import { tokenizeBatch } from '../../lib/policy/batch.js';
import { Policy } from '../../lib/policy/policy.js';
import { post, serve, type Served } from './harness.js';

let policy: Policy;
let s: Served;
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
  s = await serve(policy);
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

const prompts = ['Goal of the agent: go to the red ball\nObservation 0: You see a red ball 2 steps forward\nAction 0: ', 'Goal of the agent: open the door\nAction 0: '];
const candidates = [['turn left', 'turn right', 'go forward'], ['toggle', 'go forward', 'pick up', 'drop']];

for (const options of [{}, { tokenization: 'joint' as const }, { mode: 'naive' as const }] as { tokenization?: 'joint'; mode?: 'naive' }[]) {
  test(`numbers equal Policy.score in-process (${JSON.stringify(options)})`, async () => {
    const r = await post(`${s.url}/v1/score`, { prompts, candidates, options: { ...options, token_logprobs: true } });
    expect(r.status).toBe(200);
    const ref = await policy.score({ prompts, candidates, ...options });
    expect(r.body.value_head_trained).toBe(false);
    expect(r.body.results.length).toBe(2);
    r.body.results.forEach((res: { value: number; candidates: { text: string; logprob: number; prob: number; tokens: number; token_logprobs: number[] }[] }, b: number) => {
      expect(res.value).toBeCloseTo(ref.values[b]!, 5);
      res.candidates.forEach((c, k) => {
        const n = ref.candOffset[b]! + k;
        expect(c.text).toBe(candidates[b]![k]);
        expect(c.logprob).toBeCloseTo(ref.logprobs[n]!, 5);
        expect(c.prob).toBeCloseTo(ref.probs[n]!, 5);
        expect(c.tokens).toBe(ref.tokens[n]);
        expect(c.token_logprobs).toEqual(Array.from(ref.tokenLogprobs.subarray(ref.tokenOffset[n]!, ref.tokenOffset[n + 1]!)).map((x) => expect.closeTo(x, 5)));
      });
    });
    const t = tokenizeBatch(policy.tokenizer, prompts, candidates, options.tokenization ?? 'separate');
    expect(r.body.usage.prompt_tokens).toBe(t.prompts.flat().length);
    expect(r.body.usage.candidate_tokens).toBe(t.candidates.flat(2).length);
  });
}

test('without candidates it returns the values only, equal to Policy.score', async () => {
  const r = await post(`${s.url}/v1/score`, { prompts });
  expect(r.status).toBe(200);
  const ref = await policy.score({ prompts, candidates });
  r.body.results.forEach((res: { value: number; candidates?: unknown }, b: number) => {
    expect(res.candidates).toBeUndefined();
    expect(res.value).toBeCloseTo(ref.values[b]!, 5);
  });
  expect(r.body.value_head_trained).toBe(false);
});

test('bad shapes are 400 with the engine code; a prompt over the context is 422', async () => {
  const cases: [unknown, number, string][] = [
    [{ prompts: ['a'], candidates: [['x'], ['y']] }, 400, 'BatchInvalid'],
    [{ prompts: [''], candidates: [['x']] }, 400, 'EmptyPrompt'],
    [{ prompts: ['a'], candidates: [[]] }, 400, 'EmptyCandidates'],
    [{ prompts: ['a'], candidates: [['']] }, 400, 'EmptyCandidate'],
    [{ prompts: 'a', candidates: [['x']] }, 400, 'RequestInvalid'],
    [{ prompts: ['a'], candidates: [[1]] }, 400, 'RequestInvalid'],
    [{ prompts: ['a'], candidates: [['x']], options: { mode: 'fast' } }, 400, 'RequestInvalid'],
    [{ prompts: ['a'], candidates: [['x']], extra: 1 }, 400, 'RequestInvalid'],
    [{ prompts: ['go '.repeat(2000)], candidates: [['x']] }, 422, 'SequenceTooLong'],
  ];
  for (const [body, status, code] of cases) {
    const r = await post(`${s.url}/v1/score`, body);
    expect([r.status, r.body.error.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
    expect(r.body.error.message.length).toBeGreaterThan(10);
  }
});
