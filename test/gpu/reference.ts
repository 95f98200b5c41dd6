// Plain double-precision references for the CUDA kernels (test/gpu/kernels.test.ts): written from
// the definitions (Hugging Face's modules), independent of both engines.
// Legend: T rows, C hidden, H heads, Hkv kv heads, D head size, V vocabulary, R scored rows.
import type { Layout } from '../../lib/native/test-hooks.js';

/** Inputs: fp32 from the tests, or float64 where the finite-difference checks perturb them. */
export type Arr = ArrayLike<number>;

export function embedding(ids: Int32Array, pos: Int32Array, table: Arr, posTable: Arr | undefined, C: number): Float64Array {
  const out = new Float64Array(ids.length * C);
  ids.forEach((id, t) => {
    for (let c = 0; c < C; ++c) out[t * C + c] = table[id * C + c]! + (posTable ? posTable[pos[t]! * C + c]! : 0);
  });
  return out;
}

/** Fused residual add + norm (see native/ops/cuda/cuda_ops.h): returns h and x afterwards. */
export function norm(kind: 'rms' | 'layer', x: Arr, y: Arr | undefined, rows: Int32Array | undefined,
  w: Arr, b: Arr | undefined, n: number, C: number, eps: number): { h: Float64Array; x: Float64Array } {
  const xo = Float64Array.from(x);
  const h = new Float64Array(n * C);
  for (let i = 0; i < n; ++i) {
    const r = rows ? rows[i]! : i;
    const v = Array.from({ length: C }, (_, c) => x[r * C + c]! + (y ? y[r * C + c]! : 0));
    if (y && !rows) v.forEach((val, c) => (xo[r * C + c] = val));
    if (kind === 'rms') {
      const inv = 1 / Math.sqrt(v.reduce((a, q) => a + q * q, 0) / C + eps);
      v.forEach((val, c) => (h[i * C + c] = val * inv * w[c]!));
    } else {
      const mean = v.reduce((a, q) => a + q, 0) / C;
      const inv = 1 / Math.sqrt(v.reduce((a, q) => a + (q - mean) ** 2, 0) / C + eps);
      v.forEach((val, c) => (h[i * C + c] = (val - mean) * inv * w[c]! + b![c]!));
    }
  }
  return { h, x: xo };
}

export function rope(x: Arr, stride: number, T: number, nheads: number, D: number, pos: Int32Array, invFreq: Arr): Float64Array {
  const out = Float64Array.from(x);
  const half = D / 2;
  for (let t = 0; t < T; ++t) {
    for (let h = 0; h < nheads; ++h) {
      for (let d = 0; d < half; ++d) {
        const ang = Math.fround(pos[t]! * invFreq[d]!); // HF forms the angle in fp32
        const o = t * stride + h * D;
        const a = x[o + d]!, c = x[o + d + half]!;
        out[o + d] = a * Math.cos(ang) - c * Math.sin(ang);
        out[o + d + half] = c * Math.cos(ang) + a * Math.sin(ang);
      }
    }
  }
  return out;
}

export function swiglu(gu: Arr, T: number, I: number): Float64Array {
  const out = new Float64Array(T * I);
  for (let t = 0; t < T; ++t) for (let i = 0; i < I; ++i) {
    const g = gu[t * 2 * I + i]!, u = gu[t * 2 * I + I + i]!;
    out[t * I + i] = (g / (1 + Math.exp(-g))) * u;
  }
  return out;
}

/** erf by its Taylor series (exact to double rounding for |x| < 5, where it is ±1 to 1e-11 beyond). */
export function erf(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  let sum = 0, term = x;
  for (let n = 0; n < 200; ++n) { // Taylor: erf x = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export function gelu(u: Arr, tanh: boolean): Float64Array {
  return Float64Array.from(u, (x) => tanh
    ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))
    : 0.5 * x * (1 + erf(x / Math.SQRT2)));
}

export type { Layout };

/** Each query row's visible keys (packed rows) and every row's position, as the engines mask them. */
export function visibleKeys(L: Layout, T: number): { pos: Int32Array; queries: { row: number; keys: number[] }[] } {
  const pos = new Int32Array(T);
  const queries: { row: number; keys: number[] }[] = [];
  for (let b = 0; b < L.promptStart.length; ++b) {
    const ps = L.promptStart[b]!, P = L.promptLen[b]!;
    for (let i = 0; i < P; ++i) {
      pos[ps + i] = i;
      queries.push({ row: ps + i, keys: Array.from({ length: i + 1 }, (_, j) => ps + j) });
    }
  }
  for (let k = 0; k < L.candStart.length; ++k) {
    const b = L.candPrompt[k]!, ps = L.promptStart[b]!, P = L.promptLen[b]!, cs = L.candStart[k]!;
    for (let j = 0; j < L.candLen[k]!; ++j) {
      pos[cs + j] = P + j;
      const keys = Array.from({ length: P }, (_, i) => ps + i);
      for (let jj = 0; jj <= j; ++jj) keys.push(cs + jj);
      queries.push({ row: cs + j, keys });
    }
  }
  return { pos, queries };
}

/** Shared-prefix attention row by row: each query's visible keys, one softmax in double. */
export function attention(qkv: Arr, L: Layout, T: number, H: number, Hkv: number, D: number, window: number): { out: Float64Array; lse: Float64Array } {
  const Q = (H + 2 * Hkv) * D;
  const out = new Float64Array(T * H * D), lse = new Float64Array(T * H);
  const { pos, queries } = visibleKeys(L, T);
  const scale = 1 / Math.sqrt(D);
  for (const { row, keys } of queries) {
    for (let h = 0; h < H; ++h) {
      const kvh = Math.floor(h / (H / Hkv));
      const vis = keys.filter((kr) => !(window > 0 && pos[row]! - pos[kr]! >= window));
      const s = vis.map((kr) => {
        let d0 = 0;
        for (let d = 0; d < D; ++d) d0 += qkv[row * Q + h * D + d]! * qkv[kr * Q + (H + kvh) * D + d]!;
        return d0 * scale;
      });
      const m = Math.max(...s);
      const e = s.map((v) => Math.exp(v - m));
      const z = e.reduce((a, v) => a + v, 0);
      lse[row * H + h] = m + Math.log(z);
      for (let d = 0; d < D; ++d) {
        let acc = 0;
        vis.forEach((kr, i) => (acc += e[i]! * qkv[kr * Q + (H + Hkv + kvh) * D + d]!));
        out[row * H * D + h * D + d] = acc / z;
      }
    }
  }
  return { out, lse };
}

/** Log-sum-exp of each row of h E^T over the whole vocabulary, and the targets' logits. */
export function lmHead(h: Arr, E: Arr, R: number, V: number, C: number, trow: Int32Array, tid: Int32Array): { lse: Float64Array; targetLogit: Float64Array } {
  const logit = (r: number, v: number) => {
    let s = 0;
    for (let c = 0; c < C; ++c) s += h[r * C + c]! * E[v * C + c]!;
    return s;
  };
  const lse = new Float64Array(R);
  for (let r = 0; r < R; ++r) {
    const row = Array.from({ length: V }, (_, v) => logit(r, v));
    const m = Math.max(...row);
    lse[r] = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  }
  return { lse, targetLogit: Float64Array.from(trow, (r, t) => logit(r, tid[t]!)) };
}

export function valueHead(h: Arr, B: number, sizes: number[], W: Arr[], bias: Arr[]): Float64Array {
  let cur = Float64Array.from(h);
  for (let i = 0; i < W.length; ++i) {
    const inn = sizes[i]!, out = sizes[i + 1]!;
    const next = new Float64Array(B * out);
    for (let b = 0; b < B; ++b) for (let o = 0; o < out; ++o) {
      let s = bias[i]![o]!;
      for (let k = 0; k < inn; ++k) s += cur[b * inn + k]! * W[i]![o * inn + k]!;
      next[b * out + o] = i + 1 < W.length ? 1 / (1 + Math.exp(-s)) : s;
    }
    cur = next;
  }
  return cur;
}

export function gemmNt(X: Arr, W: Arr, bias: Arr | undefined, M: number, N: number, K: number): Float64Array {
  const Y = new Float64Array(M * N);
  for (let m = 0; m < M; ++m) for (let n = 0; n < N; ++n) {
    let s = bias ? bias[n]! : 0;
    for (let k = 0; k < K; ++k) s += X[m * K + k]! * W[n * K + k]!;
    Y[m * N + n] = s;
  }
  return Y;
}
