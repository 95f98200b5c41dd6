// The CUDA backend's host planning, tested on every machine through the CPU test addon's plan hooks
// (native/napi_test/plan_exports.cpp): the activation workspace's size as a function of the batch's
// token count, the "batch too big" error, and the batch plan (scored rows, targets, attention tiles)
// against independent re-derivations here.
import { describe, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import type { ModelConfig } from '../../lib/io/model-config.js';
import { cpuTestHooks, type WorkspaceShape } from '../../lib/native/test-hooks.js';
import { packBatch } from '../../lib/policy/batch.js';
import { errorCode } from '../glam-error.js';
import { align, gpt2, qwen } from './plan-models.js';

const { plan } = cpuTestHooks();

/** The arena size re-derived from workspace_plan.h's buffer list. */
function expectedBytes(c: ModelConfig, s: WorkspaceShape, e: number, Vt: number): number {
  const C = c.hiddenSize, Q = (c.numHeads + 2 * c.numKvHeads) * c.headDim, HD = c.numHeads * c.headDim;
  const I = c.intermediateSize, U = c.family === 'llama' ? 2 * I : I, W = s.valueWidth ?? 0;
  const sizes = [
    s.T * C * 4, s.T * C * e, s.T * Q * 4, s.T * HD * e, s.T * U * 4, s.T * I * e, // x h qkv att up act
    s.R * C * e, s.B * C * 4, s.R * Vt * 4, s.R * 4, s.R * 4, s.R * 4, s.NT * 4, // hn hn32 logits max sum lse tlogit
    s.B * W * 4, s.B * W * 4, s.B * 4, // value head
    s.T * 4, s.T * 4, s.R * 4, s.NT * 4, s.NT * 4, s.ntiles * 16, s.T * 16, // ids pos rows trow tid tiles arows
  ];
  return sizes.reduce((a, n) => a + align(n), 0);
}

/** GLAM's batch shape: B prompts of P tokens, K candidates of A tokens. */
function shapeOf(B: number, P: number, K: number, A: number, rowsPerTile = 64): WorkspaceShape {
  const T = B * (P + K * A);
  return { T, B, R: B * (1 + K * (A - 1)), NT: B * K * A, ntiles: B * Math.ceil((P + K * A) / rowsPerTile), valueWidth: 1024 };
}

describe('workspace sizing', () => {
  test.each([
    ['qwen2-0.5b', qwen, shapeOf(64, 256, 16, 4)],
    ['gpt2-small', gpt2, shapeOf(32, 128, 6, 3)],
    ['one token', qwen, { T: 2, B: 1, R: 1, NT: 1, ntiles: 1 }],
  ] as const)('%s: the arena is the sum of its aligned buffers, in both precisions', (_n, c, s) => {
    for (const [precision, e] of [['bf16', 2], ['fp32', 4]] as const) {
      const w = plan.workspace(c, s, precision);
      expect(w.total).toBe(expectedBytes(c, s, e, w.Vt));
      for (const off of Object.values(w.offsets)) expect(off % 256).toBe(0);
    }
  });

  test('the LM-head tile is bounded (never rows x vocab) and covers the vocabulary in tiles of 256', () => {
    for (const R of [1, 64, 3136, 100_000]) {
      const w = plan.workspace(qwen, { T: R, B: 1, R, NT: R, ntiles: 1 }, 'bf16');
      expect(w.Vt).toBeGreaterThanOrEqual(256);
      expect(w.Vt).toBeLessThanOrEqual(qwen.vocabSize);
      if (w.Vt < qwen.vocabSize) expect(w.Vt % 256).toBe(0);
      if (w.Vt > 256) expect(R * w.Vt * 4).toBeLessThanOrEqual(256 * 2 ** 20);
    }
    expect(plan.workspace({ ...gpt2, vocabSize: 100 }, { T: 4, B: 1, R: 2, NT: 2, ntiles: 1 }, 'fp32').Vt).toBe(100);
  });

  test('bytes grow linearly with the token count at a fixed batch composition', () => {
    const a = plan.workspace(qwen, shapeOf(16, 256, 16, 4), 'bf16').total;
    const b = plan.workspace(qwen, shapeOf(32, 256, 16, 4), 'bf16').total;
    const c = plan.workspace(qwen, shapeOf(64, 256, 16, 4), 'bf16').total;
    expect(Math.abs((c - b) - 2 * (b - a)) / c).toBeLessThan(0.02);
    expect(plan.workspace(qwen, shapeOf(64, 256, 16, 4), 'fp32').total).toBeGreaterThan(c);
  });

  test('a batch too big is BatchTooLarge, saying how many tokens and prompts fit', () => {
    const s = shapeOf(64, 256, 16, 4);
    const need = plan.workspace(qwen, s, 'bf16').total;
    expect(() => plan.checkFits(qwen, s, 'bf16', need)).not.toThrow();
    let msg = '';
    try {
      plan.checkFits(qwen, s, 'bf16', Math.floor(need / 4));
    } catch (e) {
      expect(e).toBeInstanceOf(GlamError);
      expect((e as GlamError).code).toBe('BatchTooLarge');
      msg = (e as GlamError).message;
    }
    expect(msg).toMatch(/this batch of 20480 tokens \(64 prompts\) needs \d+ MiB of GPU activations/);
    const m = /about (\d+) tokens fit \(about (\d+) prompts/.exec(msg);
    expect(m).not.toBeNull();
    const fit = Number(m![1]), prompts = Number(m![2]);
    expect(fit).toBe(plan.maxTokens(qwen, s, 'bf16', Math.floor(need / 4)));
    // fewer than a quarter of the tokens fit in a quarter of the bytes: the LM-head tile (up to 256 MiB) does not shrink with them
    expect(fit).toBeGreaterThan(1000);
    expect(fit).toBeLessThan(20480 / 4);
    expect(prompts).toBe(Math.floor((64 * fit) / 20480));
  });

  test('maxTokens is the largest scaled batch that fits', () => {
    const s = shapeOf(32, 128, 6, 3);
    for (const avail of [64 * 2 ** 20, 2 ** 30, 8 * 2 ** 30]) {
      const t = plan.maxTokens(gpt2, s, 'bf16', avail);
      const scaled = (n: number): WorkspaceShape => ({
        T: n, B: Math.max(1, Math.floor((s.B * n) / s.T)), R: Math.max(1, Math.floor((s.R * n) / s.T)),
        NT: Math.max(1, Math.floor((s.NT * n) / s.T)), ntiles: Math.max(1, Math.floor((s.ntiles * n) / s.T)), valueWidth: 1024,
      });
      expect(plan.workspace(gpt2, scaled(t), 'bf16').total).toBeLessThanOrEqual(avail);
      expect(plan.workspace(gpt2, scaled(t + 1), 'bf16').total).toBeGreaterThan(avail);
    }
    expect(plan.maxTokens(gpt2, s, 'bf16', 1000)).toBe(0);
  });

  test('bad shapes and precisions are InvalidArgument', async () => {
    expect(await errorCode(() => plan.workspace(qwen, { T: -1, B: 1, R: 1, NT: 1, ntiles: 1 }, 'bf16'))).toBe('InvalidArgument');
    expect(await errorCode(() => plan.workspace(qwen, { T: 1, B: 1, R: 1, NT: 1, ntiles: 1 }, 'fp16' as never))).toBe('InvalidArgument');
  });
});

describe('batch plan', () => {
  // prompts of 3, 70 and 1 tokens; candidates of 1..3 tokens (ids are arbitrary in-vocabulary values)
  const prompts = [[5, 6, 7], Array.from({ length: 70 }, (_, i) => 10 + i), [99]];
  const candidates = [[[1], [2, 3], [4, 5, 6]], Array.from({ length: 20 }, (_, k) => [100 + k, 200 + k, 300 + k]), [[42, 43]]];
  const batch = packBatch({ prompts, candidates }, { vocabSize: qwen.vocabSize, maxPositions: qwen.maxPositions });
  const p = plan.batch(qwen, batch);

  test('scored rows and targets follow the scorer: prompt last rows, then candidate rows predicting the next token', () => {
    const rows: number[] = [];
    for (let b = 0; b < 3; ++b) rows.push(batch.promptStart[b]! + batch.promptLen[b]! - 1);
    const trow: number[] = [], tid: number[] = [];
    for (let k = 0; k < batch.candStart.length; ++k) {
      for (let j = 0; j < batch.candLen[k]!; ++j) {
        tid.push(batch.tokens[batch.candStart[k]! + j]!);
        if (j === 0) trow.push(batch.candPrompt[k]!);
        else {
          trow.push(rows.length);
          rows.push(batch.candStart[k]! + j - 1);
        }
      }
    }
    expect([...p.rows]).toEqual(rows);
    expect([...p.trow]).toEqual(trow);
    expect([...p.tid]).toEqual(tid);
    expect(p.R).toBe(3 + 0 + 1 + 2 + 20 * 2 + 1);
    expect(p.NT).toBe(1 + 2 + 3 + 60 + 2);
  });

  test('every packed row is one attention query, in a tile of its own prompt, with the right visible keys', () => {
    const T = batch.tokens.length;
    expect(p.arows.length).toBe(3 * T);
    const seen = new Array<number>(T).fill(0);
    const owner = new Array<number>(T).fill(-1);
    for (let b = 0; b < 3; ++b) for (let i = 0; i < batch.promptLen[b]!; ++i) owner[batch.promptStart[b]! + i] = b;
    for (let k = 0; k < batch.candStart.length; ++k) for (let j = 0; j < batch.candLen[k]!; ++j) owner[batch.candStart[k]! + j] = batch.candPrompt[k]!;
    const ntiles = p.tiles.length / 4;
    for (let t = 0; t < ntiles; ++t) {
      const [ps, first, count, nkeys] = [p.tiles[4 * t]!, p.tiles[4 * t + 1]!, p.tiles[4 * t + 2]!, p.tiles[4 * t + 3]!];
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(p.rowsPerTile);
      const b = batch.promptStart.indexOf(ps);
      expect(b).toBeGreaterThanOrEqual(0);
      let maxKeys = 0;
      for (let i = first; i < first + count; ++i) {
        const [row, nprompt, own] = [p.arows[3 * i]!, p.arows[3 * i + 1]!, p.arows[3 * i + 2]!];
        seen[row]! += 1;
        expect(owner[row]).toBe(b);
        const isPrompt = row >= ps && row < ps + batch.promptLen[b]!;
        expect(nprompt).toBe(isPrompt ? row - ps + 1 : batch.promptLen[b]!);
        if (isPrompt) expect(own).toBe(-1);
        else {
          const k = [...batch.candStart].findIndex((s, kk) => row >= s && row < s + batch.candLen[kk]!);
          expect(own).toBe(batch.candStart[k]!);
        }
        maxKeys = Math.max(maxKeys, nprompt);
      }
      expect(nkeys).toBe(maxKeys);
    }
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  test("a prompt's keys/values are streamed once per tile, and a tile serves many candidates", () => {
    // prompt 1: 70 prompt rows + 20 candidates x 3 rows = 130 query rows -> ceil(130/64) = 3 tiles,
    // versus 20 prompt reads if each candidate read its prompt on its own
    const ntiles = p.tiles.length / 4;
    let tilesOfPrompt1 = 0;
    for (let t = 0; t < ntiles; ++t) if (p.tiles[4 * t] === batch.promptStart[1]) ++tilesOfPrompt1;
    expect(p.rowsPerTile).toBe(64);
    expect(tilesOfPrompt1).toBe(Math.ceil(130 / 64));
    expect(tilesOfPrompt1).toBeLessThan(20);
  });

  test('the shape signature keys CUDA graphs: same counts, same signature', () => {
    const other = packBatch(
      { prompts: prompts.map((q) => q.map((id) => id + 1)), candidates: candidates.map((cs) => cs.map((c) => c.map((id) => id + 1))) },
      { vocabSize: qwen.vocabSize, maxPositions: qwen.maxPositions },
    );
    expect([...plan.batch(qwen, other).signature]).toEqual([...p.signature]);
    expect([...p.signature]).toEqual([p.T, p.B, p.N, p.R, p.NT, p.tiles.length / 4, p.arows.length / 3, p.kvTiles.length / 5]);
  });

  test('backward work lists: every prompt key in exactly one dK/dV chunk, whose rows are exactly the rows that can see it; targets grouped by row', () => {
    const ar = p.arows, kv = p.kvTiles;
    const seen = new Map<number, number>(); // packed key row -> chunks covering it
    for (let i = 0; i < kv.length / 5; ++i) {
      const [ps, key0, nkeys, first, count] = Array.from(kv.subarray(i * 5, i * 5 + 5)) as [number, number, number, number, number];
      expect(nkeys).toBeGreaterThan(0);
      expect(nkeys).toBeLessThanOrEqual(32);
      for (let j = key0; j < key0 + nkeys; ++j) seen.set(ps + j, (seen.get(ps + j) ?? 0) + 1);
      // rows listed: all see key0 (nprompt > key0) and belong to this prompt; rows just before do not see it
      for (let a = first; a < first + count; ++a) {
        expect(ar[a * 3 + 1]!).toBeGreaterThan(key0);
        const own = ar[a * 3 + 2]!;
        expect(own < 0 ? ar[a * 3]! - ps : 0).toBeGreaterThanOrEqual(0);
      }
      if (first > 0 && key0 > 0) expect(ar[(first - 1) * 3 + 1]!).toBeLessThanOrEqual(key0);
    }
    let promptRows = 0;
    for (let b = 0; b < batch.promptLen.length; ++b) promptRows += batch.promptLen[b]!;
    expect(seen.size).toBe(promptRows);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    // rowTgt lists each target once, grouped by its scored row, in order
    expect(p.rowOff.length).toBe(p.R + 1);
    expect([...p.rowTgt].sort((x, y) => x - y)).toEqual(Array.from({ length: p.NT }, (_, t) => t));
    for (let r = 0; r < p.R; ++r)
      for (let k = p.rowOff[r]!; k < p.rowOff[r + 1]!; ++k) {
        expect(p.trow[p.rowTgt[k]!]).toBe(r);
        if (k > p.rowOff[r]!) expect(p.rowTgt[k]!).toBeGreaterThan(p.rowTgt[k - 1]!);
      }
  });

  test('a malformed batch is rejected by the same validation as the CPU engine', async () => {
    const bad = { ...batch, tokens: batch.tokens.map((t, i) => (i === 0 ? qwen.vocabSize : t)) };
    expect(await errorCode(() => plan.batch(qwen, bad))).toBe('TokenOutOfRange');
    expect(await errorCode(() => plan.batch(qwen, { ...batch, candPrompt: new Int32Array([0, 0, 0]) }))).toBe('BatchInvalid');
  });
});
