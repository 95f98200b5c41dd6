// Rollout buffer: [t][n] layout, scaled rewards, completeness, minibatch gathering, seeded shuffling.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/util/rng.js';
import { RolloutBuffer, shuffledMinibatches } from '../../lib/ppo/buffer.js';
import { computeGae } from '../../lib/ppo/gae.js';
import { ppoLoss } from '../../lib/ppo/losses.js';

const ACTIONS = ['turn left', 'turn right', 'go forward'];
const FOUR = ['turn left', 'turn right', 'go forward', 'pick up'];

function filled(T = 3, N = 2): RolloutBuffer {
  const b = new RolloutBuffer({ numSteps: T, numEnvs: N, rewardScale: 20 });
  for (let t = 0; t < T; t++) {
    b.storeStep(t, {
      prompts: Array.from({ length: N }, (_, n) => `p${t}.${n}`),
      candidates: Array.from({ length: N }, (_, n) => (n === 0 ? ACTIONS : FOUR)),
      dones: Array.from({ length: N }, (_, n) => (t === 2 && n === 1 ? 1 : 0)),
      actions: Int32Array.from({ length: N }, (_, n) => (t + n) % 3),
      logprobs: Float32Array.from({ length: N }, (_, n) => -(t + n) / 10),
      values: Float64Array.from({ length: N }, (_, n) => t * 10 + n),
    });
    b.storeRewards(t, Float32Array.from({ length: N }, (_, n) => (t === 1 && n === 0 ? 0.5 : 0)));
  }
  return b;
}

describe('RolloutBuffer', () => {
  it('stores at t*N + n, scales rewards, and reports completeness', () => {
    const b = new RolloutBuffer({ numSteps: 3, numEnvs: 2, rewardScale: 20 });
    expect(b.isComplete()).toBe(false);
    const full = filled();
    expect(full.isComplete()).toBe(true);
    expect(full.size).toBe(6);
    expect(full.prompts).toEqual(['p0.0', 'p0.1', 'p1.0', 'p1.1', 'p2.0', 'p2.1']);
    expect(Array.from(full.values)).toEqual([0, 1, 10, 11, 20, 21]);
    expect(Array.from(full.rewards)).toEqual([0, 0, 10, 0, 0, 0]);
    expect(Array.from(full.dones)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(Array.from(full.actions)).toEqual([0, 1, 1, 2, 2, 0]);
    expect(full.logprobs[3]).toBeCloseTo(-0.2, 7);
    full.clear();
    expect(full.isComplete()).toBe(false);
  });

  it('gathers a minibatch with ragged candidate offsets that ppoLoss accepts', () => {
    const b = filled();
    const gae = computeGae({ rewards: b.rewards, values: b.values, dones: b.dones, nextValue: Float64Array.from([1, 2]), nextDone: new Uint8Array(2), gamma: 0.99, gaeLambda: 0.95 });
    const mb = b.minibatch(Int32Array.from([5, 0, 3]), gae.advantages, gae.returns);
    expect(mb.prompts).toEqual(['p2.1', 'p0.0', 'p1.1']);
    expect(mb.candidates).toEqual([FOUR, ACTIONS, FOUR]);
    expect(Array.from(mb.candOffset)).toEqual([0, 4, 7, 11]);
    expect(Array.from(mb.actions)).toEqual([0, 0, 2]);
    expect(Array.from(mb.oldValues)).toEqual([21, 0, 11]);
    expect(Array.from(mb.advantages)).toEqual([gae.advantages[5], gae.advantages[0], gae.advantages[3]]);
    expect(Array.from(mb.returns)).toEqual([gae.returns[5], gae.returns[0], gae.returns[3]]);
    const r = ppoLoss({ ...mb, newLogprobs: new Float64Array(11).fill(-1), newValues: mb.oldValues }, { clipCoef: 0.2, clipVloss: true, entCoef: 0.01, vfCoef: 0.5, normAdv: false });
    expect(r.dLogprobs).toHaveLength(11);
    expect(r.dValues).toHaveLength(3);
  });

  it('rejects bad records, incomplete rollouts and bad indices', () => {
    const b = new RolloutBuffer({ numSteps: 2, numEnvs: 2, rewardScale: 1 });
    const rec = { prompts: ['a', 'b'], candidates: [ACTIONS, ACTIONS], dones: [0, 0], actions: [0, 1], logprobs: [0, 0], values: [0, 0] };
    expect(() => b.storeStep(2, rec)).toThrow(/integer in \[0, 2\) for step/);
    expect(() => b.storeStep(0, { ...rec, prompts: ['a'] })).toThrow(/2 entries \(numEnvs\) for prompts but received 1/);
    expect(() => b.storeStep(0, { ...rec, actions: [0, 3] })).toThrow(/candidate index in \[0, 3\) for actions\[1\]/);
    expect(() => b.storeStep(0, { ...rec, candidates: [ACTIONS, []] })).toThrow(/non-empty list/);
    b.storeStep(0, rec);
    b.storeStep(1, rec);
    b.storeRewards(0, [1, 1]);
    const z = new Float64Array(4);
    expect(() => b.minibatch(Int32Array.from([0]), z, z)).toThrow(/step 1 lacks its rewards/);
    b.storeRewards(1, [0, 0]);
    expect(() => b.minibatch(Int32Array.from([4]), z, z)).toThrow(/index in \[0, 4\)/);
    expect(() => b.minibatch(Int32Array.from([0]), new Float64Array(3), z)).toThrow(/advantages and returns/);
    expect(() => new RolloutBuffer({ numSteps: 0, numEnvs: 1, rewardScale: 1 })).toThrow(/numSteps/);
  });
});

describe('shuffledMinibatches', () => {
  it("covers every index once per epoch, in GLAM's chunks (the last one shorter)", () => {
    const mbs = shuffledMinibatches(100, 32, new Rng(1));
    expect(mbs.map((m) => m.length)).toEqual([32, 32, 32, 4]);
    const all = mbs.flatMap((m) => Array.from(m)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffledMinibatches(1280, 64, new Rng(0))).toHaveLength(20);
  });

  it('is deterministic per seed, different across seeds and epochs, and not the identity', () => {
    const a = shuffledMinibatches(64, 16, new Rng(5)).map((m) => Array.from(m));
    expect(shuffledMinibatches(64, 16, new Rng(5)).map((m) => Array.from(m))).toEqual(a);
    expect(shuffledMinibatches(64, 16, new Rng(6)).map((m) => Array.from(m))).not.toEqual(a);
    const rng = new Rng(5);
    const e1 = shuffledMinibatches(64, 16, rng).map((m) => Array.from(m));
    const e2 = shuffledMinibatches(64, 16, rng).map((m) => Array.from(m));
    expect(e1).toEqual(a);
    expect(e2).not.toEqual(e1);
    expect(a.flat()).not.toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('is roughly uniform: each index lands in each position equally often', () => {
    const rng = new Rng(11);
    const n = 6, counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let k = 0; k < 12000; k++) shuffledMinibatches(n, n, rng)[0]!.forEach((idx, pos) => counts[idx]![pos]++);
    for (const row of counts) for (const c of row) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});
