// Plain double-precision references for the CUDA backward kernels and the optimizer, written from
// the definitions (the chain rule through test/gpu/reference.ts's forwards), independent of both
// engines. reference-backward.test.ts checks each against central finite differences on the CPU;
// backward-kernels.test.ts checks the CUDA kernels against them on a GPU.
// Convention (the engines'): parameter gradients are what a backward ACCUMULATES (returned alone
// here), input gradients are returned whole.
// Legend: T rows, C hidden, H heads, Hkv kv heads, D head size, V vocabulary, R scored rows, NT targets.
import { erf, visibleKeys, type Arr, type Layout } from './reference.js';

export function embeddingBackward(dx: Arr, ids: Int32Array, pos: Int32Array, V: number, maxPos: number, C: number): { dtable: Float64Array; dpos: Float64Array } {
  const dtable = new Float64Array(V * C), dpos = new Float64Array(maxPos * C);
  ids.forEach((id, t) => {
    for (let c = 0; c < C; ++c) {
      dtable[id * C + c]! += dx[t * C + c]!;
      dpos[pos[t]! * C + c]! += dx[t * C + c]!;
    }
  });
  return { dtable, dpos };
}

/** The norm alone (no residual add): x (., C) its input, dh (n, C); dx is (x.length) with only the gathered rows set. */
export function normBackward(kind: 'rms' | 'layer', x: Arr, dh: Arr, rows: Int32Array | undefined, w: Arr, n: number, C: number, eps: number):
{ dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(x.length), dw = new Float64Array(C), db = new Float64Array(C);
  for (let i = 0; i < n; ++i) {
    const r = rows ? rows[i]! : i;
    const v = Array.from({ length: C }, (_, c) => x[r * C + c]!);
    const g = Array.from({ length: C }, (_, c) => dh[i * C + c]!);
    if (kind === 'rms') {
      const inv = 1 / Math.sqrt(v.reduce((a, q) => a + q * q, 0) / C + eps);
      const dot = v.reduce((a, q, c) => a + g[c]! * w[c]! * q, 0);
      for (let c = 0; c < C; ++c) {
        dx[r * C + c]! += inv * g[c]! * w[c]! - (dot * inv ** 3 / C) * v[c]!;
        dw[c]! += g[c]! * v[c]! * inv;
      }
    } else {
      const mean = v.reduce((a, q) => a + q, 0) / C;
      const inv = 1 / Math.sqrt(v.reduce((a, q) => a + (q - mean) ** 2, 0) / C + eps);
      const xh = v.map((q) => (q - mean) * inv);
      const gw = g.map((q, c) => q * w[c]!);
      const mg = gw.reduce((a, q) => a + q, 0) / C, mgx = gw.reduce((a, q, c) => a + q * xh[c]!, 0) / C;
      for (let c = 0; c < C; ++c) {
        dx[r * C + c]! += inv * (gw[c]! - mg - xh[c]! * mgx);
        dw[c]! += g[c]! * xh[c]!;
        db[c]! += g[c]!;
      }
    }
  }
  return { dx, dw, db };
}

/** The transpose of the rotation (RoPE is orthogonal): rotate the gradient by -angle. */
export function ropeBackward(dx: Arr, stride: number, T: number, nheads: number, D: number, pos: Int32Array, invFreq: Arr): Float64Array {
  const out = Float64Array.from(dx);
  const half = D / 2;
  for (let t = 0; t < T; ++t) for (let h = 0; h < nheads; ++h) for (let d = 0; d < half; ++d) {
    const ang = Math.fround(pos[t]! * invFreq[d]!);
    const o = t * stride + h * D, a = dx[o + d]!, c = dx[o + d + half]!;
    out[o + d] = a * Math.cos(ang) + c * Math.sin(ang);
    out[o + d + half] = c * Math.cos(ang) - a * Math.sin(ang);
  }
  return out;
}

export function swigluBackward(dact: Arr, gu: Arr, T: number, I: number): Float64Array {
  const dgu = new Float64Array(T * 2 * I);
  for (let t = 0; t < T; ++t) for (let i = 0; i < I; ++i) {
    const g = gu[t * 2 * I + i]!, u = gu[t * 2 * I + I + i]!, d = dact[t * I + i]!;
    const s = 1 / (1 + Math.exp(-g));
    dgu[t * 2 * I + I + i] = d * g * s;
    dgu[t * 2 * I + i] = d * u * s * (1 + g * (1 - s));
  }
  return dgu;
}

export function geluBackward(dact: Arr, u: Arr, tanh: boolean): Float64Array {
  return Float64Array.from({ length: u.length }, (_, k) => {
    const x = u[k]!;
    if (tanh) {
      const a = Math.sqrt(2 / Math.PI), th = Math.tanh(a * (x + 0.044715 * x ** 3));
      return dact[k]! * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * a * (1 + 3 * 0.044715 * x * x));
    }
    const cdf = 0.5 * (1 + erf(x / Math.SQRT2));
    return dact[k]! * (cdf + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
  });
}

/** d qkv of sum(dout . attention(qkv)), everything recomputed in double (no saved statistics). */
export function attentionBackward(qkv: Arr, dout: Arr, L: Layout, T: number, H: number, Hkv: number, D: number, window: number): Float64Array {
  const Q = (H + 2 * Hkv) * D, scale = 1 / Math.sqrt(D);
  const dqkv = new Float64Array(T * Q);
  const { pos, queries } = visibleKeys(L, T);
  for (const { row, keys } of queries) {
    for (let h = 0; h < H; ++h) {
      const kvh = Math.floor(h / (H / Hkv));
      const vis = keys.filter((kr) => !(window > 0 && pos[row]! - pos[kr]! >= window));
      const q = (d: number) => qkv[row * Q + h * D + d]!;
      const k = (kr: number, d: number) => qkv[kr * Q + (H + kvh) * D + d]!;
      const v = (kr: number, d: number) => qkv[kr * Q + (H + Hkv + kvh) * D + d]!;
      const s = vis.map((kr) => { let a = 0; for (let d = 0; d < D; ++d) a += q(d) * k(kr, d); return a * scale; });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, x) => a + x, 0);
      const p = e.map((x) => x / z);
      const g = (d: number) => dout[row * H * D + h * D + d]!;
      const dp = vis.map((kr) => { let a = 0; for (let d = 0; d < D; ++d) a += g(d) * v(kr, d); return a; });
      const di = p.reduce((a, pj, j) => a + pj * dp[j]!, 0); // = dO . O
      vis.forEach((kr, j) => {
        const ds = p[j]! * (dp[j]! - di) * scale;
        for (let d = 0; d < D; ++d) {
          dqkv[row * Q + h * D + d]! += ds * k(kr, d);
          dqkv[kr * Q + (H + kvh) * D + d]! += ds * q(d);
          dqkv[kr * Q + (H + Hkv + kvh) * D + d]! += p[j]! * g(d);
        }
      });
    }
  }
  return dqkv;
}

/** Gradients of sum_t g_t (logit_t - lse_{row t}) through logits = h E^T: dh (R, C) and dE (V, C). */
export function lmHeadBackward(h: Arr, E: Arr, R: number, V: number, C: number, trow: Int32Array, tid: Int32Array, g: Arr): { dh: Float64Array; dE: Float64Array } {
  const dh = new Float64Array(R * C), dE = new Float64Array(V * C);
  for (let r = 0; r < R; ++r) {
    const logits = Array.from({ length: V }, (_, v) => { let s = 0; for (let c = 0; c < C; ++c) s += h[r * C + c]! * E[v * C + c]!; return s; });
    const m = Math.max(...logits);
    const z = logits.reduce((a, x) => a + Math.exp(x - m), 0);
    const dl = new Float64Array(V);
    trow.forEach((tr, t) => {
      if (tr !== r) return;
      dl[tid[t]!]! += g[t]!;
      for (let v = 0; v < V; ++v) dl[v]! -= g[t]! * Math.exp(logits[v]! - m) / z;
    });
    for (let v = 0; v < V; ++v) for (let c = 0; c < C; ++c) {
      dh[r * C + c]! += dl[v]! * E[v * C + c]!;
      dE[v * C + c]! += dl[v]! * h[r * C + c]!;
    }
  }
  return { dh, dE };
}

/** Gradients of sum_b dv_b value_b through GLAM's value MLP (sigmoid after every layer but the last). */
export function valueHeadBackward(h: Arr, B: number, sizes: number[], W: Arr[], bias: Arr[], dv: Arr): { dh: Float64Array; dW: Float64Array[]; db: Float64Array[] } {
  const acts: Float64Array[] = [Float64Array.from(h)];
  for (let i = 0; i + 1 < W.length; ++i) {
    const inn = sizes[i]!, out = sizes[i + 1]!, a = acts[i]!, next = new Float64Array(B * out);
    for (let b = 0; b < B; ++b) for (let o = 0; o < out; ++o) {
      let s = bias[i]![o]!;
      for (let k = 0; k < inn; ++k) s += a[b * inn + k]! * W[i]![o * inn + k]!;
      next[b * out + o] = 1 / (1 + Math.exp(-s));
    }
    acts.push(next);
  }
  const dW = W.map((w) => new Float64Array(w.length)), db = bias.map((b) => new Float64Array(b.length));
  let dz = Float64Array.from(dv);
  for (let i = W.length - 1; i >= 0; --i) {
    const inn = sizes[i]!, out = sizes[i + 1]!, a = acts[i]!, da = new Float64Array(B * inn);
    for (let b = 0; b < B; ++b) for (let o = 0; o < out; ++o) {
      const d = dz[b * out + o]!;
      db[i]![o]! += d;
      for (let k = 0; k < inn; ++k) {
        dW[i]![o * inn + k]! += d * a[b * inn + k]!;
        da[b * inn + k]! += d * W[i]![o * inn + k]!;
      }
    }
    if (i > 0) for (let k = 0; k < da.length; ++k) da[k]! *= a[k]! * (1 - a[k]!);
    dz = da;
  }
  return { dh: dz, dW, db };
}

export interface AdamWOpts { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number }

/**
 * torch.nn.utils.clip_grad_norm_ over every tensor, then torch.optim.AdamW's step (decoupled decay,
 * bias-corrected moments, eps outside the square root), in double, for steps t = 1..grads.length.
 * Returns the weights, moments and each step's norm before clipping.
 */
export function adamwSteps(w0: Arr[], grads: Arr[][], o: AdamWOpts): { w: Float64Array[]; m: Float64Array[]; v: Float64Array[]; norms: number[] } {
  const w = w0.map((x) => Float64Array.from(x)), m = w0.map((x) => new Float64Array(x.length)), v = w0.map((x) => new Float64Array(x.length));
  const norms: number[] = [];
  grads.forEach((gs, s) => {
    const t = s + 1;
    const norm = Math.sqrt(gs.reduce((a, g) => a + Array.from(g).reduce((b, x) => b + x * x, 0), 0));
    norms.push(norm);
    const clip = o.maxGradNorm > 0 ? Math.min(1, o.maxGradNorm / (norm + 1e-6)) : 1;
    const bc1 = 1 - o.beta1 ** t, bc2 = 1 - o.beta2 ** t;
    gs.forEach((g, i) => {
      for (let k = 0; k < g.length; ++k) {
        const gi = g[k]! * clip;
        w[i]![k]! *= 1 - o.lr * o.weightDecay;
        m[i]![k] = o.beta1 * m[i]![k]! + (1 - o.beta1) * gi;
        v[i]![k] = o.beta2 * v[i]![k]! + (1 - o.beta2) * gi * gi;
        w[i]![k]! -= (o.lr / bc1) * m[i]![k]! / (Math.sqrt(v[i]![k]!) / Math.sqrt(bc2) + o.eps);
      }
    });
  });
  return { w, m, v, norms };
}
