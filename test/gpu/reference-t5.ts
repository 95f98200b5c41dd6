// Double-precision references of T5's kernels for test/gpu/t5-kernels.test.ts: the ReLU and gated
// GELU-tanh activations with their backwards (ops/cpu/activation.cpp's definitions), and attention
// with T5's variants over a T5 plan's rows (the CPU attention's visibility, ops/cpu/attention_ext.cpp:
// an encoder group's rows see the whole group; a decoder group's prefix rows see the prefix causally
// and its candidates' rows the prefix plus their own earlier rows; cross: every decoder row of group g
// sees every encoder row of group g), unscaled scores plus the relative position bias of bucket
// (pos_key - pos_query) from ops/relative_buckets.h, forward and backward (dq, dk, dv, dbias).
// Legend: T rows of the stream, Te encoder rows, H heads, D d_kv, HD = H D, NB buckets.
import type { PlannedRows } from '../../lib/native/test-hooks.js';

type Arr = ArrayLike<number>;

export function relu(u: Arr): Float64Array {
  return Float64Array.from(u, (x) => (x > 0 ? x : 0));
}

function geluTanh(v: number): { g: number; d: number } {
  const k = Math.sqrt(2 / Math.PI), th = Math.tanh(k * (v + 0.044715 * v ** 3));
  return { g: 0.5 * v * (1 + th), d: 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v) };
}

/** act (T, I) = gelu_tanh(u[:, :I]) * u[:, I:2I]. */
export function geglu(u: Arr, T: number, I: number): Float64Array {
  const out = new Float64Array(T * I);
  for (let t = 0; t < T; ++t) for (let i = 0; i < I; ++i) out[t * I + i] = geluTanh(u[t * 2 * I + i]!).g * u[t * 2 * I + I + i]!;
  return out;
}

export function reluBackward(dact: Arr, u: Arr): Float64Array {
  return Float64Array.from(u, (x, i) => (x > 0 ? dact[i]! : 0));
}

export function gegluBackward(dact: Arr, u: Arr, T: number, I: number): Float64Array {
  const du = new Float64Array(T * 2 * I);
  for (let t = 0; t < T; ++t)
    for (let i = 0; i < I; ++i) {
      const { g, d } = geluTanh(u[t * 2 * I + i]!), lin = u[t * 2 * I + I + i]!, da = dact[t * I + i]!;
      du[t * 2 * I + i] = da * lin * d;
      du[t * 2 * I + I + i] = da * g;
    }
  return du;
}

/** Each query row's visible key rows (in the key stream): self (causal or not) or cross (kv groups). */
export function visibility(q: PlannedRows, causal: boolean, kv?: PlannedRows): { row: number; keys: number[] }[] {
  const out: { row: number; keys: number[] }[] = [];
  const span = (s: number, n: number) => Array.from({ length: n }, (_, j) => s + j);
  q.groups.forEach((g, gi) => {
    const kvg = kv?.groups[gi];
    for (let i = 0; i < g.prefixLen; ++i)
      out.push({ row: g.start + i, keys: kvg ? span(kvg.start, kvg.prefixLen) : span(g.start, causal ? i + 1 : g.prefixLen) });
    g.candStart.forEach((cs, c) => {
      for (let j = 0; j < g.candLen[c]!; ++j)
        out.push({ row: cs + j, keys: kvg ? span(kvg.start, kvg.prefixLen) : [...span(g.start, g.prefixLen), ...span(cs, j + 1)] });
    });
  });
  return out;
}

export interface T5AttnInput {
  q: Arr; kv?: Arr; bias?: Arr; dout: Arr;
  T: number; Te: number; H: number; D: number; NB: number;
  vis: { row: number; keys: number[] }[];
  pos: Int32Array;                                    // the query stream's positions (self: keys' too)
  bucket?: (rel: number) => number;                  // with bias
}

/** Forward and backward in double: out (T, HD), lse (T, H), dq (T, qwidth: self q|k|v), dkv (Te, 2HD), dbias (NB, H). */
export function t5Attention(a: T5AttnInput) {
  const { T, Te, H, D } = a, HD = H * D, cross = a.kv !== undefined;
  const qw = cross ? HD : 3 * HD, kvw = cross ? 2 * HD : 3 * HD;
  const K = cross ? a.kv! : a.q, ko = cross ? 0 : HD, vo = cross ? HD : 2 * HD;
  const out = new Float64Array(T * HD), lse = new Float64Array(T * H), dq = new Float64Array(T * qw);
  const dkv = new Float64Array(cross ? Te * 2 * HD : 0), dbias = new Float64Array(a.NB * H);
  const dK = cross ? dkv : dq; // where dK / dV go (self: the k|v columns of dq)
  for (const { row, keys } of a.vis)
    for (let h = 0; h < H; ++h) {
      const qo = row * qw + h * D;
      const s = keys.map((j) => {
        let dot = 0;
        for (let d = 0; d < D; ++d) dot += a.q[qo + d]! * K[j * kvw + ko + h * D + d]!;
        return dot + (a.bias ? a.bias[a.bucket!(a.pos[j]! - a.pos[row]!) * H + h]! : 0);
      });
      const m = Math.max(...s), e = s.map((x) => Math.exp(x - m)), z = e.reduce((x, y) => x + y, 0);
      const p = e.map((x) => x / z);
      lse[row * H + h] = m + Math.log(z);
      for (let d = 0; d < D; ++d) out[row * HD + h * D + d] = keys.reduce((acc, j, n) => acc + p[n]! * K[j * kvw + vo + h * D + d]!, 0);
      // backward
      const dO = Array.from({ length: D }, (_, d) => a.dout[row * HD + h * D + d]!);
      const dP = keys.map((j) => dO.reduce((acc, g, d) => acc + g * K[j * kvw + vo + h * D + d]!, 0));
      const Di = p.reduce((acc, x, n) => acc + x * dP[n]!, 0);
      keys.forEach((j, n) => {
        const ds = p[n]! * (dP[n]! - Di);
        if (a.bias) dbias[a.bucket!(a.pos[j]! - a.pos[row]!) * H + h] += ds;
        for (let d = 0; d < D; ++d) {
          dq[qo + d] += ds * K[j * kvw + ko + h * D + d]!;
          dK[j * kvw + ko + h * D + d] += ds * a.q[qo + d]!;
          dK[j * kvw + vo + h * D + d] += p[n]! * dO[d]!;
        }
      });
    }
  return { out, lse, dq, dkv, dbias };
}
