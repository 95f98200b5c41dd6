// GAE against a reference written differently: each advantage as an explicit discounted sum of TD
// residuals up to the end of its episode (or the rollout), with "episode ended at step t" flags
// derived from CleanRL's "s_t starts an episode" dones.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/util/rng.js';
import { computeGae } from '../../lib/ppo/gae.js';

/** A_t = Σ_{l ≥ 0} (γλ)^l δ_{t+l}, stopping after the step that ends the episode or at the rollout's end. */
function referenceGae(rewards: number[][], values: number[][], dones: number[][], nextValue: number[], nextDone: number[],
  gamma: number, lambda: number): number[][] {
  const T = rewards.length, N = nextValue.length;
  // ended[t][n]: the action at step t ended env n's episode.
  const ended = (t: number, n: number) => (t + 1 < T ? dones[t + 1]![n]! : nextDone[n]!) === 1;
  const valueAfter = (t: number, n: number) => (t + 1 < T ? values[t + 1]![n]! : nextValue[n]!);
  const delta = (t: number, n: number) => rewards[t]![n]! + (ended(t, n) ? 0 : gamma * valueAfter(t, n)) - values[t]![n]!;
  const A: number[][] = [];
  for (let t = 0; t < T; t++) {
    A.push([]);
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let l = 0; t + l < T; l++) {
        sum += (gamma * lambda) ** l * delta(t + l, n);
        if (ended(t + l, n)) break;
      }
      A[t]!.push(sum);
    }
  }
  return A;
}

const flat = (rows: number[][]) => Float64Array.from(rows.flat());

describe('computeGae', () => {
  it('matches the explicit-sum reference with dones in the middle and at the end', () => {
    const rng = new Rng(7);
    const T = 9, N = 4, gamma = 0.99, lambda = 0.95;
    const rewards = Array.from({ length: T }, () => Array.from({ length: N }, () => (rng.randInt(0, 4) === 0 ? rng.randFloat(0, 20) : 0)));
    const values = Array.from({ length: T }, () => Array.from({ length: N }, () => rng.randFloat(-5, 15)));
    // env 0: no episode ends; env 1: ends mid-rollout twice; env 2: ends at the last step; env 3: ends at step 0 and at the last step.
    const dones = Array.from({ length: T }, () => [0, 0, 0, 0]);
    dones[0]![3] = 1; // s_0 starts a new episode (nothing before it in this rollout)
    dones[3]![1] = 1; dones[6]![1] = 1;
    dones[1]![3] = 1;
    const nextDone = [0, 0, 1, 1];
    const nextValue = [3.5, -1.25, 8, 2];
    const { advantages, returns } = computeGae({
      rewards: flat(rewards), values: Float32Array.from(values.flat()), dones: Uint8Array.from(dones.flat()),
      nextValue: Float64Array.from(nextValue), nextDone: Uint8Array.from(nextDone), gamma, gaeLambda: lambda,
    });
    const fvalues = Array.from(Float32Array.from(values.flat()));
    const ref = referenceGae(rewards, values.map((r, t) => r.map((_, n) => fvalues[t * N + n]!)), dones, nextValue, nextDone, gamma, lambda);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        expect(advantages[t * N + n]).toBeCloseTo(ref[t]![n]!, 10);
        expect(returns[t * N + n]).toBeCloseTo(ref[t]![n]! + fvalues[t * N + n]!, 10);
      }
    }
    // A done at the last step ignores the bootstrap: A_{T−1} = r − V.
    expect(advantages[(T - 1) * N + 2]).toBeCloseTo(rewards[T - 1]![2]! - fvalues[(T - 1) * N + 2]!, 12);
  });

  it('with γ = λ = 1 and no dones, A_t = Σ_{s ≥ t} r_s + V_T − V_t', () => {
    const r = [1, 0, 2, 0.5], v = [0.3, -0.2, 1.1, 0.7], next = 4;
    const { advantages } = computeGae({
      rewards: Float64Array.from(r), values: Float64Array.from(v), dones: new Uint8Array(4),
      nextValue: Float64Array.from([next]), nextDone: new Uint8Array(1), gamma: 1, gaeLambda: 1,
    });
    for (let t = 0; t < 4; t++) expect(advantages[t]).toBeCloseTo(r.slice(t).reduce((a, b) => a + b, 0) + next - v[t]!, 12);
  });

  it('with λ = 0, A_t is the one-step TD residual', () => {
    const rng = new Rng(3);
    const T = 5, N = 2, gamma = 0.9;
    const rewards = Float64Array.from({ length: T * N }, () => rng.randFloat(0, 1));
    const values = Float64Array.from({ length: T * N }, () => rng.randFloat(0, 1));
    const dones = Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    const { advantages } = computeGae({ rewards, values, dones, nextValue: Float64Array.from([0.5, NaN]), nextDone: Uint8Array.from([0, 1]), gamma, gaeLambda: 0 });
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        const i = t * N + n;
        const endNext = t + 1 < T ? dones[i + N]! : [0, 1][n]!;
        const vNext = t + 1 < T ? values[i + N]! : [0.5, NaN][n]!;
        expect(advantages[i]).toBeCloseTo(rewards[i]! + (endNext ? 0 : gamma * vNext) - values[i]!, 12);
      }
    }
  });

  it('rejects mismatched shapes', () => {
    const base = { rewards: new Float64Array(6), values: new Float64Array(6), dones: new Uint8Array(6), nextValue: new Float64Array(2), nextDone: new Uint8Array(2), gamma: 0.99, gaeLambda: 0.95 };
    expect(() => computeGae({ ...base, values: new Float64Array(4) })).toThrow(/numSteps × numEnvs/);
    expect(() => computeGae({ ...base, nextValue: new Float64Array(4), nextDone: new Uint8Array(4) })).toThrow(/multiple of numEnvs = 4/);
    expect(() => computeGae({ ...base, nextDone: new Uint8Array(1) })).toThrow(/nextDone/);
    expect(() => computeGae({ ...base, gamma: 1.5 })).toThrow(/gamma/);
  });
});
