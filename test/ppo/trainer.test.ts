// trainPpo's tokenization (config.tokenization, GLAM's preset: 'lamorel') reaches every pass it makes:
// with the T5 fixture model, whose tokenizer appends </s> to a prompt under glam's own rule, each
// rollout transition's ids are the tokenization module's own output for Lamorel's mode (tokenizeBatch
// 'lamorel': no </s>), every batch the engine scores is one of those, and the update's forward passes
// take those very ids.
import { join } from 'node:path';

import { afterEach, expect, test, vi } from 'vitest';

import { tokenizeBatch, type TokenizedBatch } from '../../lib/policy/batch.js';
import { Policy } from '../../lib/policy/policy.js';
import type { RolloutBuffer } from '../../lib/ppo/buffer.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { trainPpo } from '../../lib/ppo/trainer.js';

const T5 = join(__dirname, '..', 'fixtures', 'models', 't5-v1_0');
const EOS = 1; // </s> in the T5 fixtures' tokenizer
afterEach(() => vi.restoreAllMocks());

test("GLAM's preset with a T5 model: the rollout, the bootstrap and the update all send Lamorel-tokenized batches", async () => {
  const cfg = resolvePpoConfig({ level: 'BabyAI-GoToRedBallNoDists-v0', numEnvs: 2, numSteps: 3, minibatchSize: 3, updateEpochs: 1, totalFrames: 6,
    valueHidden: [8], seed: 2 }, 'glam');
  expect(cfg.tokenization).toBe('lamorel');
  const policy = await Policy.load(T5, { threads: 1, valueHidden: [8] });
  const scored: TokenizedBatch[] = [];
  const forwarded: TokenizedBatch[] = [];
  const scoreTokens = policy.scoreTokens.bind(policy);
  const forward = policy.forward.bind(policy);
  vi.spyOn(policy, 'scoreTokens').mockImplementation((t, o) => (scored.push(t), scoreTokens(t, o)));
  vi.spyOn(policy, 'forward').mockImplementation((req, o) => {
    expect('tokens' in req).toBe(true); // ids kept from the rollout, not text tokenized again
    forwarded.push((req as { tokens: TokenizedBatch }).tokens);
    return forward(req, o);
  });
  const rollouts: { prompts: string[]; candidates: (readonly string[])[]; ids: TokenizedBatch }[] = [];
  try {
    const done = await trainPpo(policy, cfg, {
      onRollout: ({ buffer }: { buffer: RolloutBuffer }) => {
        const all = Int32Array.from({ length: buffer.size }, (_, i) => i);
        const mb = buffer.minibatch(all, new Float64Array(buffer.size), new Float64Array(buffer.size));
        rollouts.push({ prompts: [...mb.prompts], candidates: [...mb.candidates], ids: mb.ids! });
      },
    });
    expect(done).toBe(1);
  } finally {
    await policy.dispose();
  }
  const { prompts, candidates, ids } = rollouts[0]!;
  expect(prompts.length).toBe(6);
  const tok = policy.tokenizer;
  const want = tokenizeBatch(tok, prompts, candidates, 'lamorel');
  expect(ids).toEqual(want);
  const separate = tokenizeBatch(tok, prompts, candidates, 'separate');
  expect(separate.prompts.every((p, i) => p.at(-1) === EOS && p.length === want.prompts[i]!.length + 1)).toBe(true);
  // what the engine saw: 3 rollout steps + the bootstrap, no prompt ending in </s>; the rollout's are the buffer's
  expect(scored.length).toBe(cfg.numSteps + 1);
  expect(scored.flatMap((t) => t.prompts).every((p) => p.at(-1) !== EOS)).toBe(true);
  const kept = new Set(want.prompts.map((p) => JSON.stringify(p)));
  for (const t of scored.slice(0, cfg.numSteps)) for (const p of t.prompts) expect(kept.has(JSON.stringify(p))).toBe(true);
  // the update: 1 epoch x 2 minibatches of 3, every row one of the rollout's Lamorel ids
  expect(forwarded.length).toBe(2);
  for (const t of forwarded) {
    expect(t.prompts.length).toBe(3);
    for (const p of t.prompts) expect(kept.has(JSON.stringify(p))).toBe(true);
  }
});
