// evaluate(): which episodes count. With E envs in parallel and N = E episodes, exactly each env's
// first episode must count — the same episodes that E separate one-env evaluations (env i alone is
// seeded seed + i, as the vector env seeds its i-th env) play. Counting the first N finishers instead
// would replace long (mostly failed) episodes by the second episode of a quick env: the upward bias
// this test guards against. The scorer is deterministic (a function of the prompt, played greedily), so the
// action sampler plays no part; episode lengths vary widely.
import { expect, test } from 'vitest';
import { evaluate } from '../../lib/agent/evaluate.js';
import type { CandidateScores, ScoreBatch, Scorer } from '../../lib/agent/scorer.js';

// A deterministic scorer that plays GoToRedBall decently from the prompt alone: it heads for the red ball
// when its last observation mentions it and otherwise explores by a hash of the prompt, so episode
// lengths spread from a few steps to the time limit.
class HeuristicScorer implements Scorer {
  async score(req: ScoreBatch): Promise<CandidateScores> {
    const candOffset = new Int32Array(req.prompts.length + 1);
    req.candidates.forEach((c, b) => (candOffset[b + 1] = candOffset[b]! + c.length));
    const probs = new Float32Array(candOffset[req.prompts.length]!);
    req.prompts.forEach((p, b) => {
      const cands = req.candidates[b]!;
      const last = p.slice(p.lastIndexOf('Observation'));
      const ball = /red ball ([^,]*)/.exec(last)?.[1] ?? '';
      let pick: string;
      if (ball.includes('left')) pick = 'turn left';
      else if (ball.includes('right')) pick = 'turn right';
      else if (ball.includes('forward')) pick = 'go forward';
      else {
        let h = 2166136261;
        for (let i = 0; i < p.length; ++i) h = Math.imul(h ^ p.charCodeAt(i), 16777619) >>> 0;
        pick = h % 3 === 0 ? 'turn left' : 'go forward';
      }
      probs[candOffset[b]! + cands.indexOf(pick)] = 1;
    });
    return { candOffset, probs, values: new Float32Array(req.prompts.length) };
  }
}

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
const SEED = 4242;
const E = 16;

test('the counted episodes are the first to start, not the first to finish', async () => {
  const together = await evaluate(new HeuristicScorer(), { level: LEVEL, episodes: E, seed: SEED, numEnvs: E, greedy: true });
  const alone = await Promise.all(
    Array.from({ length: E }, (_, i) => evaluate(new HeuristicScorer(), { level: LEVEL, episodes: 1, seed: SEED + i, numEnvs: 1, greedy: true })),
  );
  const lengths = alone.map((r) => r.meanLength);
  expect(Math.max(...lengths)).toBeGreaterThan(Math.min(...lengths)); // the case where the rule matters
  expect(together.episodes).toBe(E);
  expect(together.successRate).toBeCloseTo(alone.reduce((s, r) => s + r.successRate, 0) / E, 12);
  expect(together.meanLength).toBeCloseTo(lengths.reduce((s, x) => s + x, 0) / E, 12);
  expect(together.meanReturn).toBeCloseTo(alone.reduce((s, r) => s + r.meanReturn, 0) / E, 12);
});
