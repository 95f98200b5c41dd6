// PPO loss: values against a hand computation, the uniform entropy, and the analytic gradients
// (candidate log-likelihoods and values) against central finite differences in float64.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/util/rng.js';
import { actionLogprobs, candidateLogSoftmax, ppoLoss, type PpoLossCoefs, type PpoMinibatch } from '../../lib/ppo/losses.js';

const GLAM_COEFS: PpoLossCoefs = { clipCoef: 0.2, clipVloss: true, entCoef: 0.01, vfCoef: 0.5, normAdv: false };

/** A random minibatch of M transitions with ragged K in 1..6 (each K at least once), covering every branch:
 *  ratios inside and outside the clip range with both advantage signs, and values inside the value-clip
 *  range, outside with the unclipped term the max, and outside with the clipped term the max. */
function randomMinibatch(rng: Rng, M: number): PpoMinibatch {
  const Ks = Array.from({ length: M }, (_, t) => (t < 6 ? t + 1 : rng.randInt(1, 7)));
  const candOffset = new Int32Array(M + 1);
  for (let t = 0; t < M; t++) candOffset[t + 1] = candOffset[t]! + Ks[t]!;
  const newLogprobs = new Float64Array(candOffset[M]!);
  for (let k = 0; k < newLogprobs.length; k++) newLogprobs[k] = rng.randFloat(-4, 0);
  const actions = Int32Array.from(Ks, (K) => rng.randInt(0, K));
  const logpA = actionLogprobs(newLogprobs, candOffset, actions);
  const ratios = [0.5, 0.75, 0.95, 1.0, 1.04, 1.3, 1.7]; // ≥ 0.04 from 1 ± 0.1 and 1 ± 0.2
  const oldLogprobs = new Float64Array(M), advantages = new Float64Array(M);
  const oldValues = new Float64Array(M), returns = new Float64Array(M), newValues = new Float64Array(M);
  for (let t = 0; t < M; t++) {
    oldLogprobs[t] = logpA[t]! - Math.log(ratios[t % ratios.length]!);
    advantages[t] = (t % 2 === 0 ? 1 : -1) * rng.randFloat(0.2, 2);
    const Vold = rng.randFloat(-1, 1);
    oldValues[t] = Vold;
    switch (t % 3) {
      case 0: newValues[t] = Vold + rng.randFloat(-0.05, 0.05); returns[t] = rng.randFloat(-2, 2); break; // inside
      case 1: newValues[t] = Vold + 0.5; returns[t] = Vold - 1; break; // outside, (V−R)² is the max
      default: newValues[t] = Vold + 0.5; returns[t] = Vold + 1.5; break; // outside, (Vclip−R)² is the max
    }
  }
  return { candOffset, newLogprobs, actions, oldLogprobs, advantages, oldValues, returns, newValues };
}

/** Max relative error of analytic vs central-difference gradients of `f` at x (perturbing x in place). */
function gradCheck(x: Float64Array, analytic: Float64Array, f: () => number): { maxRel: number; maxAbs: number } {
  // Every point is ≥ 0.04 from a kink, so a large step is safe; it keeps round-off (ε·|L|/h) small.
  const h = 1e-3;
  let maxRel = 0, maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    // Richardson extrapolation of two central differences: O(h⁴) truncation error.
    const cd = (step: number) => { x[i] = x0 + step; const fp = f(); x[i] = x0 - step; const fm = f(); x[i] = x0; return (fp - fm) / (2 * step); };
    const fd = (4 * cd(h / 2) - cd(h)) / 3;
    const g = analytic[i]!;
    const abs = Math.abs(g - fd);
    maxAbs = Math.max(maxAbs, abs);
    const scale = Math.max(Math.abs(g), Math.abs(fd));
    if (scale > 1e-6) maxRel = Math.max(maxRel, abs / scale);
    else expect(abs).toBeLessThan(1e-10); // exact zeros (clipped branches) stay zero
  }
  return { maxRel, maxAbs };
}

describe('ppoLoss', () => {
  it('matches a hand computation on a 2-transition example', () => {
    // t0: K = 2, logits [0, ln 3] → p = [1/4, 3/4]; action 1; old π(a) = 1/2 → ratio 1.5 (clipped); A = 2.
    // t1: K = 3, uniform → p = 1/3; action 0; old π(a) = 1/3 → ratio 1; A = −1.
    const mb: PpoMinibatch = {
      candOffset: Int32Array.from([0, 2, 5]),
      newLogprobs: Float64Array.from([0, Math.log(3), -1, -1, -1]),
      actions: Int32Array.from([1, 0]),
      oldLogprobs: Float64Array.from([Math.log(0.5), Math.log(1 / 3)]),
      advantages: Float64Array.from([2, -1]),
      oldValues: Float64Array.from([0, 0]),
      returns: Float64Array.from([2, 0]),
      newValues: Float64Array.from([1, 0.1]),
    };
    const r = ppoLoss(mb, GLAM_COEFS);
    // pg: t0 −min(1.5·2, 1.2·2) = −2.4; t1 −min(−1, −1) = 1 → mean −0.7.
    expect(r.pgLoss).toBeCloseTo(-0.7, 14);
    // entropy: t0 −(¼ ln ¼ + ¾ ln ¾); t1 ln 3.
    const H0 = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(r.entropyLoss).toBeCloseTo((H0 + Math.log(3)) / 2, 14);
    // value: t0 V = 1, Vold = 0, R = 2: Vclip = 0.2, max(1, 3.24) = 3.24; t1 inside: 0.01 → mean 1.625 (no 0.5).
    expect(r.vLoss).toBeCloseTo(1.625, 14);
    expect(r.loss).toBeCloseTo(-0.7 - 0.01 * (H0 + Math.log(3)) / 2 + 0.5 * 1.625, 14);
    expect(r.clipFrac).toBe(0.5);
    expect(r.oldApproxKl).toBeCloseTo(-Math.log(1.5) / 2, 14);
    expect(r.approxKl).toBeCloseTo((0.5 - Math.log(1.5)) / 2, 14);
    expect(Array.from(r.newLogprob)).toEqual([expect.closeTo(Math.log(0.75), 14), expect.closeTo(Math.log(1 / 3), 14)]);
    // Gradients by hand: t0's policy term is clipped (0), so only entropy: entCoef·p_k(log p_k + H)/M.
    expect(r.dLogprobs[0]).toBeCloseTo(0.01 * 0.25 * (Math.log(0.25) + H0) / 2, 14);
    expect(r.dLogprobs[1]).toBeCloseTo(0.01 * 0.75 * (Math.log(0.75) + H0) / 2, 14);
    // t1: g = −A·ratio = 1; uniform → the entropy term vanishes; (δ − p)/M.
    expect(r.dLogprobs[2]).toBeCloseTo((1 - 1 / 3) / 2, 14);
    expect(r.dLogprobs[3]).toBeCloseTo(-1 / 3 / 2, 14);
    // dV: t0 clipped branch outside the range → 0; t1 vfCoef·2(V − R)/M = 0.5·0.2/2.
    expect(r.dValues[0]).toBe(0);
    expect(r.dValues[1]).toBeCloseTo(0.05, 14);
  });

  it('gives log K for the entropy of a uniform distribution, for K = 1..8', () => {
    for (let K = 1; K <= 8; K++) {
      const r = ppoLoss({
        candOffset: Int32Array.from([0, K]), newLogprobs: new Float64Array(K).fill(-2.5), actions: Int32Array.from([0]),
        oldLogprobs: Float64Array.from([-Math.log(K)]), advantages: Float64Array.from([1]), oldValues: Float64Array.from([0]),
        returns: Float64Array.from([0]), newValues: Float64Array.from([0]),
      }, GLAM_COEFS);
      expect(r.entropyLoss).toBeCloseTo(Math.log(K), 14);
      expect(r.approxKl).toBeCloseTo(0, 14);
    }
  });

  const configs: [string, PpoLossCoefs][] = [
    ['GLAM coefficients', GLAM_COEFS],
    ['large entropy coefficient, no value clipping', { clipCoef: 0.2, clipVloss: false, entCoef: 0.5, vfCoef: 0.5, normAdv: false }],
    ['normalised advantages, clip 0.1', { clipCoef: 0.1, clipVloss: true, entCoef: 0.05, vfCoef: 1, normAdv: true }],
  ];
  for (const [name, coefs] of configs) {
    it(`gradients match central finite differences (${name})`, () => {
      const rng = new Rng(name.length);
      let worstLp = 0, worstV = 0;
      for (let trial = 0; trial < 5; trial++) {
        const mb = randomMinibatch(rng, 24);
        const r = ppoLoss(mb, coefs);
        // Both clipped and unclipped policy terms, and both value-clipping branches, are present.
        expect(r.clipFrac).toBeGreaterThan(0);
        expect(r.clipFrac).toBeLessThan(1);
        expect(Array.from(r.dValues).some((g) => g === 0)).toBe(coefs.clipVloss);
        const z = mb.newLogprobs as Float64Array, v = mb.newValues as Float64Array;
        worstLp = Math.max(worstLp, gradCheck(z, r.dLogprobs, () => ppoLoss(mb, coefs).loss).maxRel);
        worstV = Math.max(worstV, gradCheck(v, r.dValues, () => ppoLoss(mb, coefs).loss).maxRel);
      }
      console.log(`[fd] ${name}: max relative error dLogprobs ${worstLp.toExponential(2)}, dValues ${worstV.toExponential(2)}`);
      expect(worstLp).toBeLessThanOrEqual(1e-6);
      expect(worstV).toBeLessThanOrEqual(1e-6);
    });
  }

  it('candidate log-softmax sums to one per transition and actionLogprobs picks the chosen one', () => {
    const candOffset = Int32Array.from([0, 1, 4, 6]);
    const z = Float64Array.from([-3, -1, -2, -0.5, 5, 5.5]);
    const lp = candidateLogSoftmax(z, candOffset);
    for (let t = 0; t < 3; t++) {
      let s = 0;
      for (let k = candOffset[t]!; k < candOffset[t + 1]!; k++) s += Math.exp(lp[k]!);
      expect(s).toBeCloseTo(1, 14);
    }
    expect(lp[0]).toBe(0);
    expect(Array.from(actionLogprobs(z, candOffset, Int32Array.from([0, 2, 1])))).toEqual([lp[0], lp[3], lp[5]]);
  });

  it('handles a −∞ candidate without NaN and rejects malformed minibatches', () => {
    const base: PpoMinibatch = {
      candOffset: Int32Array.from([0, 3]), newLogprobs: Float64Array.from([-1, -Infinity, -2]), actions: Int32Array.from([0]),
      oldLogprobs: Float64Array.from([-0.4]), advantages: Float64Array.from([1]), oldValues: Float64Array.from([0]),
      returns: Float64Array.from([1]), newValues: Float64Array.from([0.5]),
    };
    const r = ppoLoss(base, GLAM_COEFS);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(Array.from(r.dLogprobs).every(Number.isFinite)).toBe(true);
    expect(r.dLogprobs[1]).toBe(0);
    expect(() => ppoLoss({ ...base, actions: Int32Array.from([3]) }, GLAM_COEFS)).toThrow(/candidate index in \[0, 3\)/);
    expect(() => ppoLoss({ ...base, candOffset: Int32Array.from([0, 2]) }, GLAM_COEFS)).toThrow(/number of candidate logprobs 3/);
    expect(() => ppoLoss({ ...base, candOffset: Int32Array.from([0, 0, 3]) }, GLAM_COEFS)).toThrow(/≥ 1 candidate/);
    expect(() => ppoLoss({ ...base, returns: new Float64Array(2) }, GLAM_COEFS)).toThrow(/returns/);
  });
});
