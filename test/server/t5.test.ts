// `glam serve` with a T5 model: POST /v1/score gives Policy.score's numbers (the encoder-decoder
// scoring), and /v1/completions, whose prompt log-probs and next token are decoder-only notions,
// answers a typed 422 UnsupportedArchitecture instead of computing something else.
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { post, serve, type Served } from './harness.js';

let policy: Policy;
let s: Served;
beforeAll(async () => {
  policy = await Policy.load(join(__dirname, '..', 'fixtures', 'models', 't5-v1_1'), { threads: 1 });
  s = await serve(policy, { modelName: 't5-v1_1' });
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

const prompts = ['Goal of the agent: go to the red ball. You see a red ball 2 steps forward', 'Goal of the agent: open the door'];
const candidates = [['turn left', 'turn right', 'go forward'], ['toggle', 'go forward']];

test('/v1/score equals Policy.score in-process', async () => {
  const r = await post(`${s.url}/v1/score`, { prompts, candidates });
  expect(r.status).toBe(200);
  const ref = await policy.score({ prompts, candidates });
  const got = (r.body.results as { candidates: { logprob: number }[] }[]).flatMap((x) => x.candidates.map((c) => c.logprob));
  expect(got.length).toBe(ref.logprobs.length);
  got.forEach((lp, k) => expect(lp).toBeCloseTo(ref.logprobs[k]!, 5));
});

test('/v1/completions is a typed 422 for T5', async () => {
  const r = await post(`${s.url}/v1/completions`, { model: 't5-v1_1', prompt: 'go to the red ball', max_tokens: 0, echo: true, logprobs: 1 });
  expect(r.status).toBe(422);
  expect(r.body.error.code).toBe('UnsupportedArchitecture');
});
