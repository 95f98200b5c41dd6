// Seeded random number generator for level generation: xoshiro128** seeded through splitmix32.
// Subtle: we do NOT reproduce numpy's streams (MiniGrid draws from numpy's PCG64), so a seed gives
// a different episode here than in Python; what we guarantee is that the same seed always gives the
// same episode here, on every platform (pure 32-bit integer arithmetic, no Math.random, no floats
// in the integer paths). `randInt(lo, hi)` excludes `hi`, like numpy's `integers(lo, hi)`, and is
// unbiased (rejection of the top partial bucket), so distributions match MiniGrid's exactly.

import { GlamError } from '../errors.js';

/** splitmix32 step: spreads any 32-bit seed word over the 128-bit xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  constructor(seed: number = 0) {
    this.seed(seed);
  }

  /** Re-seeds in place. Any finite integer in ±2^53 is accepted; its high and low words both count. */
  seed(seed: number): void {
    if (!Number.isSafeInteger(seed)) {
      throw new GlamError('InvalidArgument', `Expected a safe integer seed but received ${String(seed)}; pass an integer such as 0 or 1234`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    const st = { s: (lo ^ Math.imul(hi, 0x27d4eb2f)) | 0 };
    this.#a = splitmix32(st);
    this.#b = splitmix32(st);
    this.#c = splitmix32(st);
    this.#d = splitmix32(st);
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#d = 1; // the all-zero state is a fixed point
  }

  /** Next raw 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi) (hi excluded, as numpy's integers / MiniGrid's _rand_int). */
  randInt(lo: number, hi: number): number {
    const n = hi - lo;
    if (!(n >= 1) || n > 0x100000000 || !Number.isInteger(n)) {
      throw new GlamError('InvalidArgument', `randInt needs integers lo < hi (range at most 2^32) but received [${lo}, ${hi})`);
    }
    if (n === 1) return lo;
    // Reject the top partial bucket so every value is equally likely.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return lo + (x % n);
    }
  }

  /** Uniform float in [lo, hi). */
  randFloat(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextFloat();
  }

  /** Fair coin (MiniGrid's _rand_bool). */
  randBool(): boolean {
    return (this.nextUint32() & 1) === 0;
  }

  /** Uniform element of a non-empty list. */
  randElem<T>(list: readonly T[]): T {
    if (list.length === 0) throw new GlamError('InvalidArgument', 'randElem needs a non-empty list');
    return list[this.randInt(0, list.length)]!;
  }

  /** `k` distinct elements, in draw order (MiniGrid's _rand_subset: draw, remove, repeat). */
  subset<T>(list: readonly T[], k: number): T[] {
    if (k > list.length) throw new GlamError('InvalidArgument', `subset of ${k} requested from a list of ${list.length}`);
    const pool = list.slice();
    const out: T[] = [];
    while (out.length < k) {
      const i = this.randInt(0, pool.length);
      out.push(pool[i]!);
      pool.splice(i, 1);
    }
    return out;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(list: T[]): T[] {
    for (let i = list.length - 1; i > 0; i--) {
      const j = this.randInt(0, i + 1);
      const t = list[i]!;
      list[i] = list[j]!;
      list[j] = t;
    }
    return list;
  }

  /** A 32-bit seed for a child generator (e.g. one per vectorised env). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
