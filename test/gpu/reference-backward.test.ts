// The GPU backward tests' references checked on the CPU (this file always runs): every backward
// reference in reference-backward.ts against central finite differences of its forward reference
// (reference.ts) for the loss sum(g . f(x)) with random g, in double; and the AdamW reference against
// the CPU engine's optimizer on a real model. If a reference were wrong, the GPU backward tests would
// fail for the wrong reason; this catches it here.
import { describe, expect, test } from 'vitest';

import * as ref from './reference.js';
import * as bw from './reference-backward.js';
import { rand, randInt } from './gpu.js';

type F = (x: Float64Array) => ArrayLike<number>;

/** Central differences of L(x) = sum(g . f(x)) at `probe` indices; the worst relative error against `grad`. */
function fdError(f: F, x0: ArrayLike<number>, g: ArrayLike<number>, grad: ArrayLike<number>, probe: number[], h = 1e-5): number {
  const x = Float64Array.from(x0);
  const loss = () => { const y = f(x); let s = 0; for (let i = 0; i < y.length; ++i) s += g[i]! * y[i]!; return s; };
  let scale = 0;
  for (let i = 0; i < grad.length; ++i) scale = Math.max(scale, Math.abs(grad[i]!));
  let worst = 0;
  for (const i of probe) {
    const v = x[i]!;
    x[i] = v + h; const lp = loss();
    x[i] = v - h; const lm = loss();
    x[i] = v;
    const fd = (lp - lm) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - grad[i]!) / Math.max(Math.abs(grad[i]!), 1e-3 * scale, 1e-12));
  }
  return worst;
}

const probes = (n: number, k = 40, seed = 7) => Array.from(new Set(Array.from(randInt(k, seed, n))));
const TOL = 1e-6;

describe('backward references against finite differences (CPU)', () => {
  test('embedding scatter-add (token and position tables)', () => {
    const T = 9, C = 5, V = 7, P = 6;
    const ids = randInt(T, 1, V), pos = randInt(T, 2, P), g = rand(T * C, 3);
    const table = rand(V * C, 4), posTable = rand(P * C, 5);
    const r = bw.embeddingBackward(g, ids, pos, V, P, C);
    expect(fdError((x) => ref.embedding(ids, pos, x, posTable, C), table, g, r.dtable, probes(V * C))).toBeLessThan(TOL);
    expect(fdError((x) => ref.embedding(ids, pos, table, x, C), posTable, g, r.dpos, probes(P * C))).toBeLessThan(TOL);
  });

  for (const kind of ['rms', 'layer'] as const) {
    test(`${kind}norm: dx (gathered rows) and dw${kind === 'layer' ? ', db' : ''}`, () => {
      const rowsTotal = 8, n = 5, C = 12, eps = 1e-5;
      const x = rand(rowsTotal * C, 11, 2), w = rand(C, 12), b = rand(C, 13), g = rand(n * C, 14);
      const rows = Int32Array.from([6, 0, 3, 7, 2]);
      const r = bw.normBackward(kind, x, g, rows, w, n, C, eps);
      const h = (xx: ref.Arr, ww: ref.Arr, bb: ref.Arr) => ref.norm(kind, xx, undefined, rows, ww, bb, n, C, eps).h;
      expect(fdError((v) => h(v, w, b), x, g, r.dx, probes(rowsTotal * C))).toBeLessThan(TOL);
      expect(fdError((v) => h(x, v, b), w, g, r.dw, probes(C))).toBeLessThan(TOL);
      if (kind === 'layer') expect(fdError((v) => h(x, w, v), b, g, r.db, probes(C))).toBeLessThan(TOL);
    });
  }

  test('rope: the inverse rotation', () => {
    const T = 4, nheads = 3, D = 8, stride = 30;
    const x = rand(T * stride, 21), g = rand(T * stride, 22), pos = randInt(T, 23, 500);
    const inv = Float32Array.from({ length: D / 2 }, (_, i) => 10000 ** (-(2 * i) / D));
    const r = bw.ropeBackward(g, stride, T, nheads, D, pos, inv);
    expect(fdError((v) => ref.rope(v, stride, T, nheads, D, pos, inv), x, g, r, probes(T * stride))).toBeLessThan(TOL);
  });

  test('swiglu and gelu (tanh and erf forms)', () => {
    const T = 3, I = 7;
    const gu = rand(T * 2 * I, 31, 3), g = rand(T * I, 32);
    expect(fdError((v) => ref.swiglu(v, T, I), gu, g, bw.swigluBackward(g, gu, T, I), probes(T * 2 * I))).toBeLessThan(TOL);
    const u = rand(50, 33, 4), gg = rand(50, 34);
    for (const tanh of [true, false])
      expect(fdError((v) => ref.gelu(v, tanh), u, gg, bw.geluBackward(gg, u, tanh), probes(50))).toBeLessThan(TOL);
  });

  test.each([[2, 2, 0], [4, 2, 0], [2, 1, 3]])('shared-prefix attention H=%i Hkv=%i window=%i: dq, prompt dK/dV over every candidate, own dK/dV', (H, Hkv, window) => {
    const D = 4;
    // two prompts (5 and 3 rows) with candidates of 1-3 tokens
    const L: ref.Layout = {
      promptStart: Int32Array.from([0, 11]), promptLen: Int32Array.from([5, 3]),
      candStart: Int32Array.from([5, 7, 8, 14, 16]), candLen: Int32Array.from([2, 1, 3, 2, 1]), candPrompt: Int32Array.from([0, 0, 0, 1, 1]),
    };
    const T = 17, Q = (H + 2 * Hkv) * D;
    const qkv = rand(T * Q, 41 + H, 1.5), g = rand(T * H * D, 42 + H);
    const r = bw.attentionBackward(qkv, g, L, T, H, Hkv, D, window);
    expect(fdError((v) => ref.attention(v, L, T, H, Hkv, D, window).out, qkv, g, r, probes(T * Q, 120))).toBeLessThan(TOL);
  });

  test('LM head: dh and dE of sum g_t (logit_t - lse) with targets sharing a row and an id', () => {
    const R = 4, V = 11, C = 6;
    const h = rand(R * C, 51), E = rand(V * C, 52);
    const trow = Int32Array.from([0, 0, 0, 1, 2, 3]), tid = Int32Array.from([3, 3, 9, 0, 10, 5]), g = rand(6, 53);
    const lp = (hh: ref.Arr, EE: ref.Arr) => {
      const o = ref.lmHead(hh, EE, R, V, C, trow, tid);
      return Float64Array.from(trow, (r, t) => o.targetLogit[t]! - o.lse[r]!);
    };
    const r = bw.lmHeadBackward(h, E, R, V, C, trow, tid, g);
    expect(fdError((v) => lp(v, E), h, g, r.dh, probes(R * C))).toBeLessThan(TOL);
    expect(fdError((v) => lp(h, v), E, g, r.dE, probes(V * C))).toBeLessThan(TOL);
  });

  test('value head: dh, dW, db through the sigmoids', () => {
    const B = 3, sizes = [5, 4, 3, 1];
    const W = [rand(20, 61), rand(12, 62), rand(3, 63)], bias = [rand(4, 64), rand(3, 65), rand(1, 66)];
    const h = rand(B * 5, 67), dv = rand(B, 68);
    const r = bw.valueHeadBackward(h, B, sizes, W, bias, dv);
    expect(fdError((v) => ref.valueHead(v, B, sizes, W, bias), h, dv, r.dh, probes(B * 5))).toBeLessThan(TOL);
    for (let i = 0; i < 3; ++i) {
      expect(fdError((v) => ref.valueHead(h, B, sizes, W.map((w, j) => (j === i ? v : w)), bias), W[i]!, dv, r.dW[i]!, probes(W[i]!.length))).toBeLessThan(TOL);
      expect(fdError((v) => ref.valueHead(h, B, sizes, W, bias.map((b, j) => (j === i ? v : b))), bias[i]!, dv, r.db[i]!, probes(bias[i]!.length))).toBeLessThan(TOL);
    }
  });
});
