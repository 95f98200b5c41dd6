// Parity of the CPU backend's GEMM (native/ops/cpu/gemm.cpp) with its double-accumulating
// reference, through the CPU test addon's ops.gemm hook (native/napi_test/ops_exports.cpp, declared in
// lib/native/test-hooks.ts).
// Tolerance: per element, |y - ref| <= 1e-5 * (sum_k |x||w| + |bias| + |Y0|), the scale of fp32
// accumulation error; sum|x||w| comes from the reference run on |X| and |W|.
// Subtle: results must be bitwise identical with 1 and 2 threads (each element is one FMA chain).
// GLAM_CPU_TEST_ADDON may point at another build of the test addon (default: build/Release/glam_cpu_test.node).
import { describe, expect, it } from 'vitest';

import { cpuTestHooks, type CpuOps, type GemmKind as Kind } from '../../lib/native/test-hooks.js';
import { expectInvalid } from '../glam-error.js';
import { rng } from '../io/helpers.js';

const { ops } = cpuTestHooks();

function randomArray(n: number, next: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = next() * 2 - 1;
  return a;
}

const abs = (a: Float32Array): Float32Array => a.map((v) => Math.abs(v));

interface Case {
  kind: Kind;
  M: number;
  N: number;
  K: number;
  bias?: boolean;
  accumulate?: boolean;
  pad?: [number, number, number]; // extra columns on X, W, Y rows (leading dimensions > widths)
}

/** Runs one case with 1 and 2 threads and checks both against the reference. */
function check(ops: CpuOps, c: Case, seed: number): void {
  const next = rng(seed);
  const { kind, M, N, K } = c;
  const [px, pw, py] = c.pad ?? [0, 0, 0];
  const xr = kind === 'tn' ? K : M, xc = kind === 'tn' ? M : K;
  const wr = kind === 'nt' ? N : K, wc = kind === 'nt' ? K : N;
  const ldx = xc + px, ldw = wc + pw, ldy = N + py;
  const X = randomArray(xr * ldx, next);
  const W = randomArray(wr * ldw, next);
  const bias = c.bias ? randomArray(N, next) : undefined;
  const Y0 = randomArray(M * ldy, next);
  const lds = c.pad ? { ldx, ldw, ldy } : {};

  // Reference, and the error scale from the reference on absolute values.
  const ref = Y0.slice();
  ops.gemm(kind, X, W, M, N, K, { ...lds, reference: true, bias, ...(c.accumulate ? { accumulateInto: ref } : { out: ref }) });
  const scale = c.accumulate ? abs(Y0) : new Float32Array(M * ldy);
  ops.gemm(kind, abs(X), abs(W), M, N, K, { ...lds, reference: true, bias: bias && abs(bias), accumulateInto: scale });

  const results: Float32Array[] = [];
  for (const threads of [1, 2]) {
    const Y = Y0.slice();
    const r = ops.gemm(kind, X, W, M, N, K, { ...lds, threads, bias, ...(c.accumulate ? { accumulateInto: Y } : { out: Y }) });
    expect(r).toBe(Y); // in place
    let worst = 0;
    let where = -1;
    for (let i = 0; i < M; ++i) {
      for (let j = 0; j < ldy; ++j) {
        const e = i * ldy + j;
        if (j >= N) {
          if (Y[e] !== Y0[e]) throw new Error(`${JSON.stringify(c)}: padding of Y clobbered at (${i}, ${j})`);
          continue;
        }
        const err = Math.abs(Y[e]! - ref[e]!) / Math.max(scale[e]!, 1e-30);
        if (!(err <= worst)) {
          worst = err;
          where = e;
        }
      }
    }
    if (worst > 1e-5 || Number.isNaN(worst)) {
      throw new Error(`${JSON.stringify(c)} threads=${threads}: relative error ${worst} at ${where} (got ${Y[where]}, want ${ref[where]})`);
    }
    results.push(Y);
  }
  // Deterministic whatever the thread count: bitwise equal.
  const a = new Uint32Array(results[0]!.buffer), b = new Uint32Array(results[1]!.buffer);
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; ++i) same = a[i] === b[i];
  expect(same, `${JSON.stringify(c)}: 1 and 2 threads differ`).toBe(true);
}

const KINDS: Kind[] = ['nt', 'nn', 'tn'];
const AWKWARD = [1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 63, 65, 97, 129];

describe('ops.gemm parity', () => {
  for (const kind of KINDS) {
    it(`${kind}: random awkward shapes, bias / accumulate / leading dimensions`, () => {
      const next = rng(kind.charCodeAt(0) * 7 + kind.charCodeAt(1));
      const pick = (): number => AWKWARD[Math.floor(next() * AWKWARD.length)]!;
      for (let t = 0; t < 60; ++t) {
        const c: Case = {
          kind, M: pick(), N: pick(), K: pick(),
          bias: kind === 'nt' && next() < 0.5,
          accumulate: next() < 0.5,
          pad: next() < 0.4 ? [Math.floor(next() * 9), Math.floor(next() * 9), Math.floor(next() * 9)] : undefined,
        };
        check(ops, c, 1000 + t);
      }
    });

    it(`${kind}: degenerate sizes (M, N or K = 0 or 1)`, () => {
      const dims: [number, number, number][] = [
        [1, 1, 1], [1, 1, 300], [1, 300, 1], [300, 1, 1], [1, 257, 129], [3, 1000, 64], [4, 513, 70], [5, 100, 33],
        [0, 5, 5], [5, 0, 5], [5, 5, 0], [0, 0, 0], [13, 31, 0],
      ];
      let seed = 1;
      for (const [M, N, K] of dims) {
        check(ops, { kind, M, N, K }, seed++);
        check(ops, { kind, M, N, K, accumulate: true, bias: kind === 'nt', pad: [3, 1, 2] }, seed++);
      }
    });

    it(`${kind}: blocking edges (K across k blocks, M and N across tasks)`, () => {
      const dims: [number, number, number][] = [
        [200, 300, 777], [300, 200, 1000], [97, 1031, 1539], [1000, 37, 900], [6000, 3, 16], [2, 6000, 40], [193, 520, 769],
      ];
      let seed = 50;
      for (const [M, N, K] of dims) check(ops, { kind, M, N, K, accumulate: seed % 2 === 0, bias: kind === 'nt' }, seed++);
    });
  }

  it("the engine's shapes (GPT-2 small / hidden 256 projections, LM-head tiles)", () => {
    const shapes: Case[] = [
      { kind: 'nt', M: 256, N: 2304, K: 768, bias: true }, // qkv (fewer rows than a batch)
      { kind: 'nt', M: 300, N: 768, K: 3072, bias: true, accumulate: true }, // MLP down into the residual
      { kind: 'nt', M: 224, N: 4096, K: 768 }, // LM-head vocabulary tile
      { kind: 'nt', M: 256, N: 2048, K: 768 }, // lm_head.cpp's tile
      { kind: 'nt', M: 5184, N: 256, K: 256, bias: true }, // hidden-256 attention output, a full batch
      { kind: 'nt', M: 224, N: 1000, K: 256, pad: [0, 0, 5] }, // the 50257-vocabulary tail of a tile
      { kind: 'nn', M: 256, N: 768, K: 2304 }, // dX = dY · W
      { kind: 'tn', M: 768, N: 256, K: 1024, accumulate: true }, // dW += dY^T · X
    ];
    let seed = 77;
    for (const c of shapes) check(ops, c, seed++);
  });
});

describe('ops.gemm argument checks', () => {
  const X = new Float32Array(6), W = new Float32Array(12);

  it('a valid call works (X [2,3], W [4,3])', () => {
    expect(ops.gemm('nt', X, W, 2, 4, 3)).toHaveLength(8);
  });
  it('bad lengths throw InvalidArgument, never crash', () => {
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 4), /X has length 6/);
    expectInvalid(() => ops.gemm('nt', X, new Float32Array(11), 2, 4, 3), /W has length 11/);
    expectInvalid(() => ops.gemm('nt', new Float32Array(1e6), W, 100000, 4, 3), /X has length/);
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 3, { bias: new Float32Array(3) }), /bias has length 3/);
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 3, { accumulateInto: new Float32Array(7) }), /accumulateInto has length 7/);
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 3, { out: new Float32Array(9) }), /out has length 9/);
    expectInvalid(() => ops.gemm('nn', X, new Float32Array(11), 2, 4, 3), /W has length 11, expected 3x4 = 12/);
    expectInvalid(() => ops.gemm('tn', new Float32Array(5), new Float32Array(12), 2, 4, 3), /X has length 5, expected 3x2 = 6/);
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 3, { ldx: 2 }), /ldx/);
    expectInvalid(() => ops.gemm('nt', X, W, 2, 4, 3, { ldx: 4 }), /X has length 6, needs at least 7/);
  });
  it('bad types and values throw InvalidArgument', () => {
    const gemm = (...a: unknown[]): unknown => Reflect.apply(ops.gemm, undefined, a); // calls with the wrong types
    expectInvalid(() => gemm('nt', new Float64Array(6), W, 2, 4, 3), /X must be a Float32Array/);
    expectInvalid(() => gemm('nt', [0, 0, 0, 0, 0, 0], W, 2, 4, 3), /X must be a Float32Array/);
    expectInvalid(() => gemm('xt', X, W, 2, 4, 3), /kind/);
    expectInvalid(() => gemm('nt', X, W, -2, 4, 3), /M must be/);
    expectInvalid(() => gemm('nt', X, W, 2, 4.5, 3), /N must be/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, Number.NaN), /K must be/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, '3'), /K must be/);
    expectInvalid(() => gemm('nt', X, W, 2, 4), /at least 6 arguments/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, 3, 5), /opts must be an object/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, 3, { threads: 0 }), /threads/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, 3, { threads: 1.5 }), /threads/);
    expectInvalid(() => gemm('nn', X, new Float32Array(12), 2, 4, 3, { bias: new Float32Array(4) }), /bias is only supported/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, 3, { reference: 1 }), /reference must be a boolean/);
    expectInvalid(() => gemm('nt', X, W, 2, 4, 3, { out: new Float32Array(8), accumulateInto: new Float32Array(8) }), /not both/);
  });
  it('an output sharing memory with an input is refused', () => {
    const buf = new Float32Array(20);
    expectInvalid(() => ops.gemm('nt', buf.subarray(0, 6), W, 2, 4, 3, { accumulateInto: buf.subarray(4, 12) }), /share memory/);
  });
});
