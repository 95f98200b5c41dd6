// The bar a trained small model must pass (test/ppo/learning.test.ts explains where each number comes
// from), shared by the single-learner learning test and the 2-learner one (learning-learners.test.ts).
import { expect } from 'vitest';

import { evaluate, type EvalResult } from '../../lib/agent/evaluate.js';
import type { Policy } from '../../lib/policy/policy.js';
import type { ResolvedPpoConfig } from '../../lib/ppo/config.js';

/** `glam eval`'s held-out episodes (its default --seed), the first 200 of them. */
export const HELD_OUT = { episodes: 200, seed: 1_000_000 } as const;
/** Bars on the trained policy's success over HELD_OUT. */
export const BAR = { greedy: 0.4, sampled: 0.9 } as const;

export type Evals = { greedy: EvalResult; sampled: EvalResult };

export const show = (r: EvalResult) => `${r.successRate.toFixed(3)} [${r.ci95.map((x) => x.toFixed(3)).join(', ')}]`;

/** Greedy and sampled success of `policy` on HELD_OUT. */
export async function heldOut(policy: Policy, cfg: ResolvedPpoConfig): Promise<Evals> {
  const o = (greedy: boolean) => ({ ...HELD_OUT, greedy, level: cfg.level, memory: { ...cfg.memory } });
  return { greedy: await evaluate(policy, o(true)), sampled: await evaluate(policy, o(false)) };
}

/** The bar: both rates at or above BAR, at least doubled, significantly above the untrained model; shorter episodes. */
export function expectLearnt(before: Evals, after: Evals): void {
  for (const mode of ['greedy', 'sampled'] as const) {
    expect(after[mode].episodes).toBe(HELD_OUT.episodes);
    expect(after[mode].successRate).toBeGreaterThanOrEqual(BAR[mode]);
    expect(after[mode].successRate).toBeGreaterThanOrEqual(2 * before[mode].successRate);
    expect(after[mode].ci95[0]).toBeGreaterThan(before[mode].ci95[1]);
  }
  // the learnt policy is also shorter: fewer steps per episode than the untrained one
  expect(after.greedy.meanLength).toBeLessThan(before.greedy.meanLength);
}
