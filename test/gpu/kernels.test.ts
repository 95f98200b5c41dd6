// Every CUDA kernel against its double-precision reference (test/gpu/reference.ts) on fresh seeded
// random inputs, in fp32 (relative error <= 1e-4) and bf16 (<= 2e-2); the hooks poison outputs
// with NaN before each run, so an unwritten element fails, and NaN never passes (gpu.ts).
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { describe, expect, test } from 'vitest';

import * as ref from './reference.js';
import { bf16Round, kernels, maxRelErr, rand, randInt, suite, TOL } from './gpu.js';

const PRECISIONS = ['fp32', 'bf16'] as const;
let seed = 1000;
const next = () => ++seed;

/** A packed layout: prompt b's rows, then its candidates' rows, prompt after prompt. */
function layout(promptLens: number[], candLens: number[][]): ref.Layout & { T: number } {
  const promptStart: number[] = [], candStart: number[] = [], candLen: number[] = [], candPrompt: number[] = [];
  let t = 0;
  promptLens.forEach((P, b) => {
    promptStart.push(t);
    t += P;
    for (const A of candLens[b]!) {
      candStart.push(t);
      candLen.push(A);
      candPrompt.push(b);
      t += A;
    }
  });
  return {
    T: t, promptStart: Int32Array.from(promptStart), promptLen: Int32Array.from(promptLens),
    candStart: Int32Array.from(candStart), candLen: Int32Array.from(candLen), candPrompt: Int32Array.from(candPrompt),
  };
}

describe.skipIf(!kernels.ok)(suite('CUDA kernel parity', kernels), () => {
  const ops = kernels.ops!; // undefined while the suite is skipped

  describe.each(PRECISIONS)('%s', (precision) => {
    const tol = TOL[precision];
    const rd = (x: Float32Array) => (precision === 'bf16' ? bf16Round(x) : x);

    test.each([[7, 64, false], [33, 768, true], [5, 1000, true]])('embedding T=%i C=%i positions=%s', (T, C, withPos) => {
      const V = 97, P = 50;
      const ids = randInt(T, next(), V), pos = randInt(T, next(), P);
      const table = rand(V * C, next()), posTable = withPos ? rand(P * C, next()) : undefined;
      const got = ops.embedding({ ids, pos, table, posTable, C, precision });
      expect(maxRelErr(got, ref.embedding(ids, pos, rd(table), posTable ? rd(posTable) : undefined, C))).toBeLessThanOrEqual(tol);
    });

    for (const kind of ['rms', 'layer'] as const) {
      test.each([[4, 64, 'plain'], [9, 896, 'residual'], [6, 130, 'gather']])(`${kind}norm n=%i C=%i %s`, (n, C, mode) => {
        const rowsOfX = mode === 'gather' ? 11 : n;
        const x = rand(rowsOfX * C, next(), 3), w = rand(C, next()), b = rand(C, next());
        const y = mode === 'plain' ? undefined : rand(rowsOfX * C, next(), 3);
        const rows = mode === 'gather' ? randInt(n, next(), rowsOfX) : undefined;
        const eps = 1e-5;
        const want = ref.norm(kind, x, y, rows, w, kind === 'layer' ? b : undefined, n, C, eps);
        const got = kind === 'rms'
          ? ops.rmsnorm({ x, y, rows, w, n, C, eps, precision })
          : ops.layernorm({ x, y, rows, w, b, n, C, eps, precision });
        expect(maxRelErr(got.h, want.h)).toBeLessThanOrEqual(tol);
        expect(maxRelErr(got.x, want.x)).toBeLessThanOrEqual(TOL.fp32); // the stream stays fp32
      });
    }

    test.each([['silu', 5, 37], ['silu', 64, 4864], ['gelu_tanh', 3, 3072], ['gelu_erf', 2, 513]])('%s T=%i I=%i', (act, T, I) => {
      if (act === 'silu') {
        const gu = rand(T * 2 * I, next(), 6);
        expect(maxRelErr(ops.swiglu({ gu, T, I, precision }), ref.swiglu(gu, T, I))).toBeLessThanOrEqual(tol);
      } else {
        const u = rand(T * I, next(), 6);
        const tanh = act === 'gelu_tanh';
        expect(maxRelErr(ops.gelu({ u, tanh, precision }), ref.gelu(u, tanh))).toBeLessThanOrEqual(tol);
      }
    });

    test.each([
      // prompt lengths, candidate lengths per prompt, H, Hkv, D, window
      [[5], [[1, 2, 3]], 2, 1, 64, 0],
      [[70, 1, 33], [[3, 3, 3, 3, 3, 3], [1], [2, 4]], 14, 2, 64, 0],
      [[129], [Array.from({ length: 16 }, () => 4)], 4, 4, 128, 0],
      [[40, 9], [[2, 1], [5]], 4, 2, 80, 16],
      [[20], [[3, 2]], 2, 1, 256, 0],
    ] as const)('attention prompts %j candidates %j H=%i Hkv=%i D=%i window=%i', (P, K, H, Hkv, D, window) => {
      const L = layout([...P], K.map((c) => [...c]));
      const qkv = rand(L.T * (H + 2 * Hkv) * D, next(), 2);
      const want = ref.attention(qkv, L, L.T, H, Hkv, D, window);
      const got = ops.attention({ qkv, H, Hkv, D, window, precision, ...L });
      expect(maxRelErr(got.out, want.out)).toBeLessThanOrEqual(tol);
      expect(maxRelErr(got.lse, want.lse)).toBeLessThanOrEqual(TOL.fp32); // statistics are fp32 in both modes
    });

    test.each([[3, 300, 64, 128], [40, 2000, 96, 512], [7, 1000, 33, 1000]])('lm head R=%i V=%i C=%i tile=%i', (R, V, C, tileWidth) => {
      const h = rand(R * C, next()), E = rand(V * C, next());
      const NT = 2 * R;
      const targetRow = randInt(NT, next(), R), targetId = randInt(NT, next(), V);
      const want = ref.lmHead(rd(h), rd(E), R, V, C, targetRow, targetId);
      const got = ops.lmHead({ h, E, R, V, C, targetRow, targetId, tileWidth, precision });
      // log-probs are what matter: compare logit - lse
      const lp = (lse: ArrayLike<number>, tl: ArrayLike<number>) => Float64Array.from(targetRow, (r, t) => tl[t]! - lse[r]!);
      expect(maxRelErr(got.lse, want.lse)).toBeLessThanOrEqual(TOL.fp32 * 10);
      expect(maxRelErr(lp(got.lse, got.targetLogit), lp(want.lse, want.targetLogit))).toBeLessThanOrEqual(precision === 'fp32' ? 1e-4 : 2e-2);
    });

    test.each([[16, 64, 37], [48, 13, 896]])('gemm M=%i N=%i K=%i (+bias, accumulate)', (M, N, K) => {
      const X = rand(M * K, next()), W = rand(N * K, next()), bias = rand(N, next());
      const want = ref.gemmNt(rd(X), rd(W), bias, M, N, K);
      expect(maxRelErr(ops.gemm({ X, W, bias, M, N, K, precision }), want)).toBeLessThanOrEqual(tol);
      const acc = rand(M * N, next());
      const got = ops.gemm({ X, W, M, N, K, precision, accumulateInto: acc.slice() });
      const wantAcc = ref.gemmNt(rd(X), rd(W), undefined, M, N, K).map((v, i) => v + acc[i]!);
      expect(maxRelErr(got, wantAcc)).toBeLessThanOrEqual(tol);
    });
  });

  test('rope (fp32 in place) T=9 heads=16 D=64 and D=128', () => {
    for (const [nh, D, stride] of [[16, 64, 16 * 64 + 128], [3, 128, 3 * 128]] as const) {
      const T = 9;
      const x = rand(T * stride, next(), 2), pos = randInt(T, next(), 4096);
      const invFreq = Float32Array.from({ length: D / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / D));
      expect(maxRelErr(ops.rope({ x, stride, T, nheads: nh, D, pos, invFreq }), ref.rope(x, stride, T, nh, D, pos, invFreq))).toBeLessThanOrEqual(TOL.fp32);
    }
  });

  test('value head (fp32 in both modes): C=64 -> 1024 -> 1024 -> 1', () => {
    const B = 5, sizes = [64, 1024, 1024, 1];
    const weights = sizes.slice(1).map((o, i) => rand(o * sizes[i]!, next(), 0.1));
    const biases = sizes.slice(1).map((o) => rand(o, next(), 0.1));
    const h = rand(B * 64, next());
    expect(maxRelErr(ops.valueHead({ h, B, sizes, weights, biases }), ref.valueHead(h, B, sizes, weights, biases))).toBeLessThanOrEqual(TOL.fp32);
  });
});
