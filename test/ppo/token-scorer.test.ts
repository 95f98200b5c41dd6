// TokenScorer: the rollout's scorer keeps the ids it scored; they are exactly Policy.score's own
// tokenization (tokenizeBatch: 'separate' by default, 'lamorel' and 'joint' on request), the scores are
// identical, and a rollout buffer hands them to its minibatches so the update's forward takes ids.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { buildPrompt, PromptHistory } from '../../lib/agent/prompt.js';
import { initModel } from '../../lib/model/init-model.js';
import { tokenizeBatch } from '../../lib/policy/batch.js';
import { Policy } from '../../lib/policy/policy.js';
import { RolloutBuffer } from '../../lib/ppo/buffer.js';
import { TokenScorer } from '../../lib/ppo/token-scorer.js';
import { loadEpisodes } from '../env/text-fixture.js';

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

// Lamorel's tokenization (GLAM's preset): on a prompt built from an episode GLAM's own BabyAI-Text code
// recorded (shared/fixtures/babyai-text, the copy under test/fixtures), with the T5 fixture's tokenizer
// (whose post-processor appends </s>), the trainer's ids are exactly the tokenization module's own
// output for 'lamorel' — the 'separate' ids without that trailing </s> — and the scores are Policy.score's.
test("'lamorel' on a recorded GLAM prompt: tokenizeBatch's ids (no T5 </s>), Policy.score's numbers; 'joint' is tokenizeBatch's", async () => {
  const episode = loadEpisodes().find((e) => e.language === 'english' && e.level === 'MixedTrainLocal' && e.steps.length >= 3)!;
  const h = new PromptHistory({ maxObservations: 3 });
  h.reset(episode.steps[0]!.descriptions);
  for (const t of [1, 2]) {
    h.pushAction(GLAM_ACTIONS[episode.actions[t - 1]!]!);
    h.pushObservation(episode.steps[t]!.descriptions);
  }
  const recorded = buildPrompt(episode.mission, GLAM_ACTIONS, h);
  expect(recorded).toMatch(/^Possible action of the agent: turn left, .* \n Goal of the agent: .*\n Action 2: $/s);
  const t5 = await Policy.load(join(__dirname, '..', 'fixtures', 'models', 't5-v1_0'), { threads: 1, valueHidden: [8] });
  try {
    const req = { prompts: [recorded, prompts[0]!], candidates: [[...GLAM_ACTIONS], ['go forward', 'toggle']] };
    const lamorel = new TokenScorer(t5, 'lamorel');
    const r = await lamorel.score(req);
    const want = tokenizeBatch(t5.tokenizer, req.prompts, req.candidates, 'lamorel');
    expect(r.ids).toEqual(want);
    const separate = tokenizeBatch(t5.tokenizer, req.prompts, req.candidates, 'separate');
    expect(separate.prompts.map((p) => p.at(-1))).toEqual([1, 1]); // </s>
    expect(separate.prompts.map((p) => p.slice(0, -1))).toEqual(want.prompts);
    expect(new TokenScorer(t5).tokenize(req)).toEqual(separate);
    const ref = await t5.score({ ...req, tokenization: 'lamorel' });
    expect(Array.from(r.probs)).toEqual(Array.from(ref.probs));
    expect(Array.from(r.values)).toEqual(Array.from(ref.values));
    expect(new TokenScorer(t5, 'joint').tokenize(req)).toEqual(tokenizeBatch(t5.tokenizer, req.prompts, req.candidates, 'joint'));
  } finally {
    await t5.dispose();
  }
});
