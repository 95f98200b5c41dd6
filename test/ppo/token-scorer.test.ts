// TokenScorer: the rollout's scorer keeps the ids it scored; they are exactly Policy.score's own
// tokenization (tokenizeBatch, 'separate'), the scores are identical, and a rollout buffer hands them to
// its minibatches so the update's forward takes ids.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { initModel } from '../../lib/model/init-model.js';
import { tokenizeBatch } from '../../lib/policy/batch.js';
import { Policy } from '../../lib/policy/policy.js';
import { RolloutBuffer } from '../../lib/ppo/buffer.js';
import { TokenScorer } from '../../lib/ppo/token-scorer.js';

let policy: Policy;
const prompts = ['Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\nAction 0: ', 'Goal: pick up the key\nAction 0: '];
const candidates = prompts.map(() => [...GLAM_ACTIONS]);

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'glam-tokscorer-')), 'model');
  initModel(dir, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 3 });
  policy = await Policy.load(dir, { threads: 1, valueHidden: [8] });
  policy.enableTraining({ mode: 'full' });
});
afterAll(() => policy.dispose());

test('the ids are Policy.score tokenization and the scores are identical', async () => {
  const s = new TokenScorer(policy);
  const r = await s.score({ prompts, candidates });
  expect(r.ids).toEqual(tokenizeBatch(policy.tokenizer, prompts, candidates, 'separate'));
  const ref = await policy.score({ prompts, candidates });
  expect(Array.from(r.probs)).toEqual(Array.from(ref.probs));
  expect(Array.from(r.values)).toEqual(Array.from(ref.values));
  expect((await s.score({ prompts, candidates })).ids!.candidates[1]![0]).toBe(r.ids!.candidates[0]![0]); // one id list per action, shared
});

test('the buffer keeps the ids and a minibatch forward with them equals one with text', async () => {
  const s = new TokenScorer(policy);
  const r = await s.score({ prompts, candidates });
  const b = new RolloutBuffer({ numSteps: 1, numEnvs: 2, rewardScale: 1 });
  b.storeStep(0, { prompts, candidates, dones: [0, 0], actions: [1, 2], logprobs: [0, 0], values: [0, 0], ids: r.ids! });
  b.storeRewards(0, [0, 0]);
  const mb = b.minibatch(Int32Array.from([1, 0]), new Float64Array(2), new Float64Array(2));
  expect(mb.ids).toEqual({ prompts: [r.ids!.prompts[1], r.ids!.prompts[0]], candidates: [r.ids!.candidates[1], r.ids!.candidates[0]] });
  const withIds = await policy.forward({ tokens: mb.ids! }, { grad: true });
  const withText = await policy.forward({ prompts: mb.prompts, candidates: mb.candidates.map((c) => [...c]) }, { grad: true });
  expect(Array.from(withIds.logprobs)).toEqual(Array.from(withText.logprobs));
  for (const f of [withIds, withText]) await policy.backward(f.handle, new Float64Array(f.logprobs.length), new Float64Array(f.values.length));
  // a rollout without ids for a step keeps none
  b.clear();
  b.storeStep(0, { prompts, candidates, dones: [0, 0], actions: [1, 2], logprobs: [0, 0], values: [0, 0] });
  b.storeRewards(0, [0, 0]);
  expect(b.minibatch(Int32Array.from([0]), new Float64Array(2), new Float64Array(2)).ids).toBeUndefined();
});
