// Seeded RNG: determinism, ranges, rough uniformity, helpers.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/util/rng.js';
import { GlamError } from '../../lib/errors.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds (including seeds above 2^32)', () => {
    const seq = (s: number) => { const r = new Rng(s); return Array.from({ length: 8 }, () => r.nextUint32()); };
    expect(seq(1)).toEqual(seq(1));
    expect(seq(1)).not.toEqual(seq(2));
    expect(seq(2 ** 40)).not.toEqual(seq(0));
    expect(seq(-5)).toEqual(seq(-5));
    const r = new Rng(9);
    const a = r.nextUint32();
    r.seed(9);
    expect(r.nextUint32()).toBe(a);
  });

  it('randInt stays in [lo, hi) and is roughly uniform', () => {
    const r = new Rng(123);
    const counts = new Array(6).fill(0);
    for (let k = 0; k < 60000; k++) {
      const v = r.randInt(-2, 4);
      expect(v >= -2 && v < 4).toBe(true);
      counts[v + 2]++;
    }
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(r.randInt(5, 6)).toBe(5);
  });

  it('floats, bools, elements, subsets, shuffles', () => {
    const r = new Rng(5);
    let heads = 0;
    for (let k = 0; k < 10000; k++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      if (r.randBool()) heads++;
    }
    expect(Math.abs(heads - 5000)).toBeLessThan(300);
    expect(['a', 'b', 'c']).toContain(r.randElem(['a', 'b', 'c']));
    const sub = r.subset([1, 2, 3, 4, 5], 3);
    expect(new Set(sub).size).toBe(3);
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects bad arguments with GlamError', () => {
    const r = new Rng(0);
    expect(() => r.randInt(3, 3)).toThrow(GlamError);
    expect(() => r.randElem([])).toThrow(GlamError);
    expect(() => r.subset([1], 2)).toThrow(GlamError);
    expect(() => new Rng(0.5)).toThrow(GlamError);
  });
});
