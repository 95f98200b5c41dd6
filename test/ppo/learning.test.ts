// Proof that PPO learns (issue 5): the built-in small model, trained with the 'small' preset on
// BabyAI-GoToRedBallNoDists from its fixed seed, raises its greedy success rate on held-out episodes
// (eval seed 999, envs seeded 999 + i, disjoint from training's GLAM seeds 100·seed + i) from the
// untrained model's measured rate to at least twice that and at least 0.5.
// Subtle: this is the real trainer end to end (fused scoring, GAE, PPO loss, backward, AdamW) with
// nothing mocked; it takes ~4 minutes on 2 cores, hence its own timeout. The preset's comment
// (lib/ppo/config.ts) records the runs across seeds that chose it; the run is deterministic for a given
// machine, but float rounding differs across CPUs, so the margin, not one lucky trajectory, carries it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { evaluate } from '../../lib/agent/evaluate.js';
import { trainPpo } from '../../lib/ppo/trainer.js';

const EVAL = { episodes: 64, greedy: true, seed: 999 } as const;

describe('PPO on the built-in small model', () => {
  let home: string;
  const saved = process.env.GLAM_HOME;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'glam-learn-'));
    process.env.GLAM_HOME = home; // the built-in model is created here, from its fixed seed
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.GLAM_HOME;
    else process.env.GLAM_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });

  it('raises greedy success on held-out episodes to >= 2x the untrained rate and >= 0.5', async () => {
    const cfg = resolvePpoConfig({}, 'small');
    const policy = await Policy.load(undefined, { threads: 2, device: 'cpu', valueHidden: [...cfg.valueHidden] });
    try {
      const evalOpts = { ...EVAL, level: cfg.level, memory: { ...cfg.memory } };
      const before = await evaluate(policy, evalOpts);
      const successes: number[] = [];
      const done = await trainPpo(policy, cfg, {
        onUpdate: (r) => { successes.push(r.metrics['charts/success_rate'] ?? 0); },
      });
      expect(done).toBe(cfg.numUpdates);
      const after = await evaluate(policy, evalOpts);
      console.log(`learning: greedy success ${before.successRate.toFixed(3)} untrained -> ${after.successRate.toFixed(3)} after ` +
        `${cfg.numUpdates} updates (${cfg.numUpdates * cfg.batchSize} frames); 95% CI [${after.ci95.map((x) => x.toFixed(2)).join(', ')}]; ` +
        `training success by update: ${successes.map((s) => s.toFixed(2)).join(' ')}`);
      expect(after.successRate).toBeGreaterThanOrEqual(0.5);
      expect(after.successRate).toBeGreaterThanOrEqual(2 * before.successRate);
      // the learnt policy is also shorter: fewer steps per episode than the untrained one
      expect(after.meanLength).toBeLessThan(before.meanLength);
    } finally {
      await policy.dispose();
    }
  }, 600_000);
});
