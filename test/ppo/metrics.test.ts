// Metrics: CleanRL's names, means over an update, absent metrics left out, explained variance.

import { describe, expect, it } from 'vitest';
import { explainedVariance, METRIC_NAMES, MetricsAccumulator, reduceMetrics } from '../../lib/ppo/metrics.js';

describe('MetricsAccumulator', () => {
  it("uses CleanRL's tag names plus charts/success_rate", () => {
    expect([...METRIC_NAMES].sort()).toEqual([
      'charts/SPS', 'charts/episodic_length', 'charts/episodic_return', 'charts/learning_rate', 'charts/success_rate',
      'losses/approx_kl', 'losses/clipfrac', 'losses/entropy', 'losses/explained_variance', 'losses/old_approx_kl',
      'losses/policy_loss', 'losses/value_loss',
    ]);
  });

  it('averages episodes and minibatch losses over the update, leaves out metrics without samples, resets', () => {
    const m = new MetricsAccumulator();
    m.addEpisode({ episodeReturn: 0.9, length: 10, success: true });
    m.addEpisode({ episodeReturn: 0, length: 64, success: false });
    m.addEpisode({ episodeReturn: 0.6, length: 40, success: true });
    m.addLosses({ pgLoss: -0.1, vLoss: 4, entropyLoss: 1.7, oldApproxKl: 0.01, approxKl: 0.002, clipFrac: 0 });
    m.addLosses({ pgLoss: 0.3, vLoss: 2, entropyLoss: 1.5, oldApproxKl: -0.01, approxKl: 0.004, clipFrac: 0.5 });
    m.set('charts/SPS', 100);
    m.set('charts/SPS', 250); // set replaces
    m.set('charts/learning_rate', 1e-6);
    const s = m.summary();
    expect(s['charts/episodic_return']).toBeCloseTo(0.5, 12);
    expect(s['charts/episodic_length']).toBeCloseTo(38, 12);
    expect(s['charts/success_rate']).toBeCloseTo(2 / 3, 12);
    expect(s['losses/policy_loss']).toBeCloseTo(0.1, 12);
    expect(s['losses/value_loss']).toBe(3);
    expect(s['losses/entropy']).toBeCloseTo(1.6, 12);
    expect(s['losses/old_approx_kl']).toBeCloseTo(0, 12);
    expect(s['losses/approx_kl']).toBeCloseTo(0.003, 12);
    expect(s['losses/clipfrac']).toBe(0.25);
    expect(s['charts/SPS']).toBe(250);
    expect(s['charts/learning_rate']).toBe(1e-6);
    expect('losses/explained_variance' in s).toBe(false);
    expect(m.count('losses/policy_loss')).toBe(2);
    // Keys come out in METRIC_NAMES order.
    expect(Object.keys(s)).toEqual(METRIC_NAMES.filter((k) => k in s));
    m.reset();
    expect(m.summary()).toEqual({});
    m.set('losses/explained_variance', 0.5);
    expect(m.summary()).toEqual({ 'losses/explained_variance': 0.5 });
  });

  it('rejects unknown names and non-numbers', () => {
    const m = new MetricsAccumulator();
    expect(() => m.add('charts/sps' as 'charts/SPS', 1)).toThrow(/metric name but received "charts\/sps"/);
    expect(() => m.add('charts/SPS', '1' as unknown as number)).toThrow(/Expected a number for metric charts\/SPS/);
  });
});

describe('explainedVariance', () => {
  it('is 1 for perfect values, 0 for a constant at the mean, negative when worse, NaN when Var(R) = 0', () => {
    const R = [1, 2, 3, 4];
    expect(explainedVariance(Float64Array.from(R), Float64Array.from(R))).toBe(1);
    expect(explainedVariance([2.5, 2.5, 2.5, 2.5], R)).toBeCloseTo(0, 12);
    // A constant offset does not count (variance of the residual): 1 still.
    expect(explainedVariance([0, 1, 2, 3], R)).toBeCloseTo(1, 12);
    expect(explainedVariance([4, 3, 2, 1], R)).toBeLessThan(0);
    expect(explainedVariance([1, 2], [5, 5])).toBeNaN();
  });

  it('matches numpy: 1 − var(R − V)/var(R) with population variances', () => {
    const V = [0.5, 1.5, 2, 5, -1], R = [1, 1, 3, 4, 0];
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const pvar = (a: number[]) => { const m = mean(a); return mean(a.map((x) => (x - m) ** 2)); };
    expect(explainedVariance(V, R)).toBeCloseTo(1 - pvar(R.map((r, i) => r - V[i]!)) / pvar(R), 14);
    expect(() => explainedVariance([1], [1, 2])).toThrow(/equal non-zero lengths/);
  });
});

describe('reduceMetrics (several learners)', () => {
  it("pools every learner's samples: episodes count alike wherever they finished, per-update values average", async () => {
    const a = new MetricsAccumulator();
    const b = new MetricsAccumulator();
    a.addEpisode({ episodeReturn: 1, length: 2, success: true });
    b.addEpisode({ episodeReturn: 0, length: 10, success: false });
    b.addEpisode({ episodeReturn: 0.5, length: 6, success: true });
    a.set('charts/SPS', 100);
    b.set('charts/SPS', 120);
    // the learners' all-reduce, done here by adding the two learners' totals
    const sumOver = async (t: Float64Array) => t.map((x, i) => x + b.totals()[i]!);
    const m = await reduceMetrics(a, sumOver);
    expect(m['charts/success_rate']).toBeCloseTo(2 / 3, 12);
    expect(m['charts/episodic_length']).toBeCloseTo(6, 12);
    expect(m['charts/episodic_return']).toBeCloseTo(0.5, 12);
    expect(m['charts/SPS']).toBe(110);
    expect(m['losses/policy_loss']).toBeUndefined(); // no sample anywhere: left out
  });
});
