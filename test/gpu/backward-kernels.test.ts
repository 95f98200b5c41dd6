// Every CUDA backward kernel and the fused AdamW against its double-precision reference
// (test/gpu/reference-backward.ts, itself checked against finite differences on the CPU) on fresh
// seeded random inputs: fp32 within 1e-4 relative, bf16 (where the kernel reads bf16) within 2e-2.
// Written outputs are NaN-poisoned by the hooks, so an unwritten element fails.
// Skipped, with the reason in the suite's name, where there is no usable GPU.
import { describe, expect, test } from 'vitest';

import * as bw from './reference-backward.js';
import type { Layout } from './reference.js';
import { bf16Round, kernels, maxRelErr, rand, randInt, suite, TOL } from './gpu.js';

let seed = 5000;
const next = () => ++seed;

describe.skipIf(!kernels.ok)(suite('CUDA backward kernel parity', kernels), () => {
  const ops = kernels.ops!; // undefined while the suite is skipped

  test('embedding scatter-add with repeated ids and positions', () => {
    const T = 300, C = 96, V = 17, P = 40;
    const ids = randInt(T, next(), V), pos = randInt(T, next(), P), dx = rand(T * C, next());
    const got = ops.embeddingBackward({ dx, ids, pos, V, maxPos: P, C });
    const want = bw.embeddingBackward(dx, ids, pos, V, P, C);
    expect(maxRelErr(got.dtable, want.dtable)).toBeLessThanOrEqual(TOL.fp32);
    expect(maxRelErr(got.dpos, want.dpos)).toBeLessThanOrEqual(TOL.fp32);
  });

  for (const kind of ['rms', 'layer'] as const) {
    test.each([[37, 64, false], [50, 896, true], [3, 1000, true]])(`${kind}norm backward n=%i C=%i gather=%s`, (n, C, gather) => {
      const total = gather ? n + 5 : n;
      const x = rand(total * C, next(), 2), w = rand(C, next()), dh = rand(n * C, next());
      const uniq = gather ? Int32Array.from({ length: n }, (_, i) => total - 1 - i) : undefined; // distinct rows, reversed
      const got = ops.normBackward({ kind, x, dh, rows: uniq, w, n, C, eps: 1e-5 });
      const want = bw.normBackward(kind, x, dh, uniq, w, n, C, 1e-5);
      expect(maxRelErr(got.dx, want.dx)).toBeLessThanOrEqual(TOL.fp32);
      expect(maxRelErr(got.dw, want.dw)).toBeLessThanOrEqual(TOL.fp32);
      if (kind === 'layer') expect(maxRelErr(got.db, want.db)).toBeLessThanOrEqual(TOL.fp32);
    });
  }

  test('rope backward', () => {
    const T = 21, nheads = 6, D = 64, stride = (nheads + 2) * D;
    const dx = rand(T * stride, next()), pos = randInt(T, next(), 4000);
    const invFreq = Float32Array.from({ length: D / 2 }, (_, i) => 10000 ** (-(2 * i) / D));
    expect(maxRelErr(ops.ropeBackward({ dx, stride, T, nheads, D, pos, invFreq }), bw.ropeBackward(dx, stride, T, nheads, D, pos, invFreq))).toBeLessThanOrEqual(TOL.fp32);
  });

  test('swiglu and gelu backward', () => {
    const T = 13, I = 300, gu = rand(T * 2 * I, next(), 4), dact = rand(T * I, next());
    expect(maxRelErr(ops.swigluBackward({ dact, gu, T, I }), bw.swigluBackward(dact, gu, T, I))).toBeLessThanOrEqual(TOL.fp32);
    const u = rand(5000, next(), 5), d = rand(5000, next());
    for (const tanh of [true, false]) expect(maxRelErr(ops.geluBackward({ dact: d, u, tanh }), bw.geluBackward(d, u, tanh))).toBeLessThanOrEqual(TOL.fp32);
  });

  describe.each(['fp32', 'bf16'] as const)('attention backward %s', (precision) => {
    test.each([[4, 4, 64, 0], [14, 2, 64, 0], [8, 8, 128, 0], [4, 2, 256, 0], [4, 2, 64, 20]])('H=%i Hkv=%i D=%i window=%i: two prompts (70 and 9 rows) with 1-3 token candidates', (H, Hkv, D, window) => {
      const L: Layout = {
        promptStart: Int32Array.from([0, 79]), promptLen: Int32Array.from([70, 9]),
        candStart: Int32Array.from([70, 72, 73, 88, 91]), candLen: Int32Array.from([2, 1, 6, 3, 1]), candPrompt: Int32Array.from([0, 0, 0, 1, 1]),
      };
      const T = 92, Q = (H + 2 * Hkv) * D;
      const qkv = rand(T * Q, next()), dout = rand(T * H * D, next());
      const got = ops.attentionBackward({ qkv, dout, H, Hkv, D, window, precision, ...L });
      // bf16 mode rounds only the saved output O (Di = dO . O); the reference is exact
      expect(maxRelErr(got, bw.attentionBackward(qkv, dout, L, T, H, Hkv, D, window))).toBeLessThanOrEqual(TOL[precision]);
    });
  });

  describe.each(['fp32', 'bf16'] as const)('LM head backward %s', (precision) => {
    test.each([[9, 1000, 64, 256], [40, 5000, 128, undefined]])('R=%i V=%i C=%i tile=%s', (R, V, C, tileWidth) => {
      const rd = (x: Float32Array) => (precision === 'bf16' ? bf16Round(x) : x);
      const h = rand(R * C, next()), E = rand(V * C, next());
      const trow = Int32Array.from([0, 0, 0, ...Array.from({ length: R - 1 }, (_, i) => i + 1)]);
      const tid = randInt(trow.length, next(), V);
      tid[1] = tid[0]!; // two candidates of one prompt sharing a first token
      const g = rand(trow.length, next());
      const got = ops.lmHeadBackward({ h, E, R, V, C, targetRow: trow, targetId: tid, g, tileWidth, precision });
      const want = bw.lmHeadBackward(rd(h), rd(E), R, V, C, trow, tid, g);
      expect(maxRelErr(got.dh, want.dh)).toBeLessThanOrEqual(TOL[precision]);
      expect(maxRelErr(got.dE, want.dE)).toBeLessThanOrEqual(TOL[precision]);
    });
  });

  test('value head backward (fp32)', () => {
    const B = 32, sizes = [896, 1024, 1024, 1];
    const W = [rand(1024 * 896, next(), 0.05), rand(1024 * 1024, next(), 0.05), rand(1024, next(), 0.05)];
    const bias = [rand(1024, next()), rand(1024, next()), rand(1, next())];
    const h = rand(B * 896, next()), dv = rand(B, next());
    const got = ops.valueHeadBackward({ h, B, sizes, weights: W, biases: bias, dv });
    const want = bw.valueHeadBackward(h, B, sizes, W, bias, dv);
    expect(maxRelErr(got.dh, want.dh)).toBeLessThanOrEqual(TOL.fp32);
    got.dW.forEach((d, i) => expect(maxRelErr(d, want.dW[i]!)).toBeLessThanOrEqual(TOL.fp32));
    got.db.forEach((d, i) => expect(maxRelErr(d, want.db[i]!)).toBeLessThanOrEqual(TOL.fp32));
  });

  test.each([[0], [0.5]])('AdamW: three steps with clipping %s against the torch-semantics reference, and the bf16 compute copy', (maxGradNorm) => {
    const w = [rand(5000, next()), rand(7, next()), rand(70000, next())];
    const grads = [0, 1, 2].map(() => w.map((x) => rand(x.length, next(), 0.3)));
    const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm };
    const got = ops.adamw({ w, grads, ...o, bf16Copy: true });
    const want = bw.adamwSteps(w, grads, o);
    got.norms.forEach((n, i) => expect(Math.abs(n - want.norms[i]!) / want.norms[i]!).toBeLessThanOrEqual(TOL.fp32));
    got.w.forEach((x, i) => {
      expect(maxRelErr(x, want.w[i]!)).toBeLessThanOrEqual(TOL.fp32);
      expect(maxRelErr(got.m[i]!, want.m[i]!)).toBeLessThanOrEqual(TOL.fp32);
      expect(maxRelErr(got.v[i]!, want.v[i]!)).toBeLessThanOrEqual(TOL.fp32);
      expect(Array.from(got.copy![i]!)).toEqual(Array.from(bf16Round(x)));
    });
  });
});
