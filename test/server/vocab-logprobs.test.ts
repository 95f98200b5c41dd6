// The full-vocabulary log-probs behind top-N (lib/server/vocab-logprobs.ts) against the engine itself:
// scoring every vocabulary token as a one-token candidate of the prefix gives the whole next-token
// distribution through the engine's own fused log-softmax; the hidden-state path must agree with it
// (same ranking, same values) and with the engine's token log-probs.
import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { VocabLogprobs } from '../../lib/server/vocab-logprobs.js';

let policy: Policy;
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
});
afterAll(async () => policy?.dispose());

test('top-N from the hidden state equals the engine scoring every vocabulary token', async () => {
  const V = policy.config.vocabSize;
  const prefixes = [
    policy.tokenizer.encode('Goal of the agent: go to the red ball', true),
    policy.tokenizer.encode('You see a wall 2 steps forward\nAction 0:', true),
  ];
  const all = Array.from({ length: V }, (_, v) => [v]);
  const ref = await policy.scoreTokens({ prompts: prefixes, candidates: [all, all] });
  const h = await policy.scoreTokens({ prompts: prefixes, candidates: [[[0]], [[0]]] }, { hidden: true });
  const C = policy.config.hiddenSize;
  const rows = [h.hidden!.slice(0, C), h.hidden!.slice(C, 2 * C)];
  const actual = [123, 7];
  const got = await new VocabLogprobs(policy).top(rows, 20, actual);
  prefixes.forEach((_, b) => {
    const full = Array.from(ref.logprobs.subarray(b * V, (b + 1) * V));
    const order = full.map((lp, v) => [lp, v] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    expect(got[b]!.top.ids).toEqual(order.slice(0, 20).map((x) => x[1]));
    got[b]!.top.logprobs.forEach((lp, j) => expect(lp).toBeCloseTo(order[j]![0], 5));
    expect(got[b]!.also).toBeCloseTo(full[actual[b]!]!, 5);
    // the row is a distribution: the probabilities of all V tokens sum to 1
    expect(full.reduce((s, lp) => s + Math.exp(lp), 0)).toBeCloseTo(1, 4);
  });
});

test('a training step makes the head be read again (mutating), never during the step', async () => {
  const p = await Policy.load(undefined, { threads: 1 });
  try {
    p.enableTraining({ mode: 'full' });
    const vocab = new VocabLogprobs(p);
    const ids = p.tokenizer.encode('go to the red ball', true);
    const h = async () => (await p.scoreTokens({ prompts: [ids], candidates: [[[0]]] }, { hidden: true })).hidden!;
    const before = await vocab.top([await h()], 1, [5]);
    const f = await p.forward({ tokens: { prompts: [ids], candidates: [[[5]]] } }, { grad: true });
    await p.backward(f.handle, [-1], [0]); // raise token 5
    const stepping = vocab.mutating(() => p.step({ lr: 0.05 }));
    const during = vocab.top([await h()], 1, [5]); // waits for the step
    await stepping;
    const after = await during;
    expect(after[0]!.also).toBeGreaterThan(before[0]!.also);
    const direct = await p.scoreTokens({ prompts: [ids], candidates: [[[5]]] });
    expect(after[0]!.also).toBeCloseTo(direct.logprobs[0]!, 4);
  } finally {
    await p.dispose();
  }
});
