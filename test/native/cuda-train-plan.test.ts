// The GPU training pass's memory plan (native/cuda/train_plan.h), tested on every machine through the
// CPU test addon's plan hooks (native/napi_test/plan_exports.cpp: plan.train, plan.optimizerState,
// plan.maxTrainTokens): the activations kept from forward to backward ("bytes per trained token") for
// full fine-tuning and LoRA at the GPT-2-small and Qwen2-0.5B shapes, the backward scratch, the
// optimizer state, and the largest batch that fits a given memory — each against a formula re-derived
// here from the header's buffer list, not from the C++.
// Legend: B prompts, K candidates, P prompt tokens, A action tokens, C hidden, V vocab; T packed rows,
// Q = (H + 2 Hkv) D, HD = H D, I MLP width, U = 2I (Llama) | I (GPT-2), e = 2 (bf16) | 4 (fp32).
import { describe, expect, test } from 'vitest';

import type { ModelConfig } from '../../lib/io/model-config.js';
import type { Precision } from '../../lib/native/binding.js';
import { cpuTestHooks, type TrainShape } from '../../lib/native/test-hooks.js';
import { errorCode } from '../glam-error.js';
import { align, gpt2, qwen } from './plan-models.js';

const { plan } = cpuTestHooks();
const sum = (xs: number[]) => xs.reduce((a, n) => a + align(n), 0);

/** LoRA on q, k, v, o, and the MLP's matrices at rank r: the per-layer rank sum (one term per adapted matrix). */
function loraRanks(c: ModelConfig, r: number): number[] {
  const mats = c.family === 'llama' ? 7 : 4; // q k v o gate up down | c_attn c_proj c_fc mlp.c_proj
  return Array.from({ length: c.numLayers }, () => mats * r);
}

/**
 * GLAM's PPO batch: B transitions, each one prompt of P tokens and K candidates of A tokens, the
 * value head (C, 1024, 1024, 1) on the prompt's last row.
 */
function shapeOf(c: ModelConfig, B: number, P: number, K: number, A: number, lora = 0): TrainShape {
  const T = B * (P + K * A);
  const D = c.headDim, rpt = D <= 128 ? 64 : 32;
  return {
    T, B, R: B * (1 + K * (A - 1)), NT: B * K * A, ntiles: B * Math.ceil((P + K * A) / rpt), nkv: B * Math.ceil(P / 32),
    ...(lora > 0 ? { loraRank: loraRanks(c, lora), loraRmax: lora } : {}),
    valueSizes: [c.hiddenSize, 1024, 1024, 1],
  };
}

const dims = (c: ModelConfig) => {
  const C = c.hiddenSize, H = c.numHeads, D = c.headDim, I = c.intermediateSize;
  return { C, H, I, Q: (H + 2 * c.numKvHeads) * D, HD: H * D, U: c.family === 'llama' ? 2 * I : I };
};

/** The cache kept per handle: train_plan.h's "kept per layer" list, the heads' cache, the batch's metadata block. */
function expectedCache(c: ModelConfig, s: TrainShape, e: number): number {
  const { C, H, Q, HD, U } = dims(c);
  const { T, B, R, NT } = s;
  const sizes: number[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const r = s.loraRank?.[l] ?? 0;
    sizes.push(T * C * 4, T * C * 4, T * Q * 4, T * HD * e, T * H * 4, T * U * 4, T * r * e); // x_in x_mid qkv att lse up lora t
  }
  sizes.push(T * C * 4, R * C * e, B * C * 4, R * 4, NT * 4, B * 4); // heads: x hn hv lse tlogit values
  const vs = s.valueSizes ?? [];
  for (let i = 1; i + 1 < vs.length; i++) sizes.push(B * vs[i]! * 4); // value head hidden inputs
  const meta = sum([T * 4, T * 4, R * 4, NT * 4, NT * 4, T * 16, s.ntiles * 16, s.nkv * 32]); // ids pos rows trow tid arows tiles kv
  return sum(sizes) + align(meta);
}

/** The backward scratch, shared by every open handle: the decoder's, the engine's dx, the heads', the CUDA backend's. */
function expectedScratch(c: ModelConfig, s: TrainShape, e: number, Vt: number): number {
  const { C, H, I, Q, HD, U } = dims(c);
  const { T, B, R, NT } = s;
  const rmax = s.loraRmax ?? 0;
  const vs = s.valueSizes ?? [];
  const vw = Math.max(1, ...vs.slice(1, -1));
  return sum([
    T * C * e, T * C * 4, T * I * e, T * I * 4, T * U * 4, T * HD * 4, T * Q * 4, T * C * 4, // h dh act dact dup datt dqkv dx
    (NT + B) * 4, R * C * 4, B * C * 4, // dtok|dv dhn dh
    e === 2 ? T * Math.max(Q, U, C) * 2 : 0, T * rmax * 4, T * rmax * 4, T * rmax * 4, T * rmax * 4, T * H * 4, // ge lora di
    (R + 1 + NT) * 4 + (NT + R) * 4, R * Vt * e, B * vw * 4, B * vw * 4, // lm rows, lm grad tile, value head
  ]);
}

/** Parameters: matrices (trained in bf16 with fp32 masters) and the rest (norms, biases: fp32). */
function paramCounts(c: ModelConfig): { matrix: number; small: number } {
  const { C, I, Q, HD } = dims(c);
  const mlp = c.family === 'llama' ? 3 * C * I : 2 * C * I;
  const perLayer = C * Q + HD * C + mlp;
  const emb = c.vocabSize * C + (c.family === 'gpt2' ? c.maxPositions * C : 0);
  const norms = c.family === 'llama' ? 2 * C : 4 * C;
  const biases = (c.qkvBias ? Q : 0) + (c.oBias ? C : 0) + (c.mlpBias ? I + C : 0);
  return { matrix: c.numLayers * perLayer + emb, small: c.numLayers * (norms + biases) + (c.family === 'llama' ? C : 2 * C) };
}

const shapes = [
  ['gpt2-small', gpt2, shapeOf(gpt2, 32, 128, 6, 3)],
  ['qwen2-0.5b', qwen, shapeOf(qwen, 32, 256, 6, 4)],
] as const;
const precisions = [['bf16', 2], ['fp32', 4]] as const satisfies ReadonlyArray<readonly [Precision, number]>;

describe('training memory plan', () => {
  test.each(shapes)("%s: cache and scratch are the sums of the engine's aligned buffers, full and LoRA, both precisions", (_n, c, s) => {
    for (const [precision, e] of precisions) {
      for (const shape of [s, { ...s, loraRank: loraRanks(c, 8), loraRmax: 8 }]) {
        const p = plan.train(c, shape, precision);
        expect(p.cacheTotal).toBe(expectedCache(c, shape, e));
        expect(p.scratchTotal).toBe(expectedScratch(c, shape, e, p.Vt));
        expect(p.bytesPerToken).toBeCloseTo(p.cacheTotal / shape.T, 9);
        // the LM-head tile is the scoring workspace's for the same rows: never rows x vocab
        expect(p.Vt).toBe(plan.workspace(c, { T: 0, B: 0, R: shape.R, NT: 0, ntiles: 0 }, precision).Vt);
      }
    }
  });

  test.each(shapes)('%s: bytes per trained token approach the per-layer closed form; LoRA adds its ranks, nothing for frozen weights', (_n, c, s) => {
    const { C, H, Q, HD, U } = dims(c);
    const A = s.NT / s.B / 6, P = s.T / s.B - 6 * A; // the shape's own prompt and action lengths, 256 prompts
    const big = shapeOf(c, 256, P, 6, A);
    for (const [precision, e] of precisions) {
      const full = plan.train(c, big, precision).bytesPerToken;
      // per token per layer: x1, x2 (C) fp32, q|k|v (Q) fp32, attention out (HD) e, lse (H) fp32, up (U) fp32
      const perLayer = 8 * C + 4 * Q + e * HD + 4 * H + 4 * U;
      const closed = c.numLayers * perLayer + 4 * C; // + the final norm's input
      expect(full).toBeGreaterThanOrEqual(closed);
      expect(full / closed).toBeLessThan(1.03); // the head's rows, value head and metadata are a few percent
      const lora = plan.train(c, { ...big, loraRank: loraRanks(c, 8), loraRmax: 8 }, precision).bytesPerToken;
      const extra = loraRanks(c, 8).reduce((a, r) => a + r * e, 0);
      expect(Math.abs(lora - full - extra) / extra).toBeLessThan(0.01);
    }
    // bf16 keeps only the attention output narrower: fp32 - bf16 = L * 2 HD per token, plus the head rows
    const d = plan.train(c, big, 'fp32').bytesPerToken - plan.train(c, big, 'bf16').bytesPerToken;
    expect(d).toBeGreaterThanOrEqual(c.numLayers * 2 * HD);
    expect(d / (c.numLayers * 2 * HD)).toBeLessThan(1.05);
  });

  test.each([['gpt2-small', gpt2], ['qwen2-0.5b', qwen]] as const)('%s: optimizer state is fp32 grads + two moments, fp32 masters only behind bf16 copies', (_n, c) => {
    const { matrix, small } = paramCounts(c);
    const bf = plan.optimizerState(matrix, small, 'bf16');
    expect(bf).toEqual({ grads: 4 * (matrix + small), moments: 8 * (matrix + small), masters: 4 * matrix, total: 16 * matrix + 12 * small });
    const f = plan.optimizerState(matrix, small, 'fp32');
    expect(f.masters).toBe(0);
    expect(f.total).toBe(12 * (matrix + small));
    // LoRA at rank 8: adapters A (r, in) and B (out, r) in fp32 (their own masters), nothing for the frozen base
    const { C, I, Q, HD } = dims(c);
    const inOut = c.family === 'llama' ? [C + Q, HD + C, C + I, C + I, I + C] : [C + Q, HD + C, C + I, I + C];
    const adapters = c.numLayers * 8 * inOut.reduce((a, n) => a + n, 0);
    expect(plan.optimizerState(0, adapters, 'bf16')).toEqual({ grads: 4 * adapters, moments: 8 * adapters, masters: 0, total: 12 * adapters });
  });

  test.each(shapes)('%s: maxTrainTokens is the largest scaled batch whose cache + scratch + forward workspace fit', (_n, c, s) => {
    const need = (t: number, precision: Precision, e: number) => {
      const k = t / s.T;
      const q: TrainShape = { ...s, T: t };
      for (const key of ['B', 'R', 'NT', 'ntiles', 'nkv'] as const) q[key] = Math.max(1, Math.floor(s[key] * k));
      const Vt = plan.train(c, q, precision).Vt;
      const valueWidth = Math.max(0, ...(s.valueSizes ?? []).slice(1, -1));
      const ws = plan.workspace(c, { T: q.T, B: q.B, R: q.R, NT: q.NT, ntiles: q.ntiles, valueWidth }, precision).total;
      return expectedCache(c, q, e) + expectedScratch(c, q, e, Vt) + ws;
    };
    for (const [precision, e] of precisions) {
      for (const gib of [2, 16, 60]) {
        const avail = gib * 2 ** 30;
        const t = plan.maxTrainTokens(c, s, precision, avail);
        expect(t).toBeGreaterThan(0);
        expect(need(t, precision, e)).toBeLessThanOrEqual(avail);
        expect(need(t + 1, precision, e)).toBeGreaterThan(avail);
      }
    }
    expect(plan.maxTrainTokens(c, s, 'bf16', 1024)).toBe(0);
  });

  test('bad shapes and precisions are InvalidArgument', async () => {
    const s = shapeOf(gpt2, 2, 8, 2, 2);
    expect(await errorCode(() => plan.train(gpt2, { ...s, nkv: -1 }, 'bf16'))).toBe('InvalidArgument');
    expect(await errorCode(() => plan.train(gpt2, { ...s, loraRank: [1.5] }, 'bf16'))).toBe('InvalidArgument');
    expect(await errorCode(() => plan.train(gpt2, s, 'fp16' as Precision))).toBe('InvalidArgument');
    expect(await errorCode(() => plan.optimizerState(-1, 0, 'bf16'))).toBe('InvalidArgument');
    expect(await errorCode(() => plan.maxTrainTokens(gpt2, s, 'bf16', -5))).toBe('InvalidArgument');
  });
});
