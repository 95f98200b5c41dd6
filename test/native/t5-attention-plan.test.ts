// The CUDA attention kernels' work lists for T5 (native/model/attention_plan.cpp, planned by
// plan_t5 and exported by the CPU test addon's plan hooks), tested on every machine: walking the
// tile lists and the dK/dV chunk lists exactly as the kernels do (ops/cuda/attention.cu,
// attention_backward.cu) must cover the (query row, key row) pairs the CPU attention defines
// (ops/cpu/attention_ext.cpp for_each_query over the groups) once each, for the encoder
// (bidirectional), the decoder's self attention (causal shared prefix) and cross attention, fused
// and naive; and the kernels' integer bucket function must equal ops/relative_buckets.h.
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import type { ModelConfig } from '../../lib/io/model-config.js';
import { readModelConfig } from '../../lib/io/model-config.js';
import { type AttentionLists, cpuTestHooks, type PlannedRows } from '../../lib/native/test-hooks.js';
import { packBatch } from '../../lib/policy/batch.js';

const { plan, t5 } = cpuTestHooks();
const fixture = readModelConfig(join(__dirname, '..', 'fixtures', 'models', 't5-v1_1'));
// Flan-T5-base's attention shape (head size 64: 64-row tiles) over the fixture's vocabulary
const flanShape: ModelConfig = { ...fixture, headDim: 64, numHeads: 12, numKvHeads: 12 };

type Pairs = Map<string, number>;
const add = (m: Pairs, q: number, k: number) => m.set(`${q},${k}`, (m.get(`${q},${k}`) ?? 0) + 1);
/** got and want hold the same pairs with the same counts (the first few differences reported, cheaply). */
function expectSamePairs(got: Pairs, want: Pairs, what: string): void {
  const wrong = [...want].filter(([k, n]) => got.get(k) !== n).slice(0, 5).map(([k, n]) => `${k}: ${got.get(k) ?? 0} for ${n}`);
  const extra = [...got].filter(([k]) => !want.has(k)).slice(0, 5).map(([k, n]) => `${k}: ${n} for 0`);
  expect([...wrong, ...extra], what).toEqual([]);
}

/** The forward / dq kernels' walk: each tile row's prompt keys (through nkeys) and its own keys. */
function tileWalk(l: AttentionLists): { pairs: Pairs; own: Pairs; rowsSeen: Map<number, number> } {
  const pairs: Pairs = new Map(), own_: Pairs = new Map(), rowsSeen = new Map<number, number>();
  for (let t = 0; t < l.tiles.length / 4; ++t) {
    const [ps, first, count, nkeys] = Array.from(l.tiles.subarray(4 * t, 4 * t + 4)) as [number, number, number, number];
    for (let i = first; i < first + count; ++i) {
      const [row, nprompt, own] = [l.arows[3 * i]!, l.arows[3 * i + 1]!, l.arows[3 * i + 2]!];
      rowsSeen.set(row, (rowsSeen.get(row) ?? 0) + 1);
      for (let j = 0; j < Math.min(nkeys, nprompt); ++j) add(pairs, row, ps + j);
      if (own >= 0) for (let k = own; k <= row; ++k) (add(pairs, row, k), add(own_, row, k));
    }
  }
  return { pairs, own: own_, rowsSeen };
}

/** The dK/dV kernel's walk over prompt keys: every listed row that sees the key; and which CTA stores each key. */
function kvWalk(l: AttentionLists): { pairs: Pairs; stores: Map<number, number> } {
  const pairs: Pairs = new Map(), stores = new Map<number, number>();
  for (let c = 0; c < l.kvTiles.length / 5; ++c) {
    const [ps, key0, nkeys, first, count] = Array.from(l.kvTiles.subarray(5 * c, 5 * c + 5)) as [number, number, number, number, number];
    expect(nkeys).toBeGreaterThan(0);
    expect(nkeys).toBeLessThanOrEqual(32);
    for (let j = key0; j < key0 + nkeys; ++j) {
      stores.set(ps + j, (stores.get(ps + j) ?? 0) + 1);
      for (let a = first; a < first + count; ++a) if (j < l.arows[3 * a + 1]!) add(pairs, l.arows[3 * a]!, ps + j);
    }
  }
  return { pairs, stores };
}

/** The CPU attention's visibility (attention_ext.cpp for_each_query): query groups, optional key groups (cross). */
function cpuPairs(q: PlannedRows, causal: boolean, kv?: PlannedRows): Pairs {
  const all: Pairs = new Map();
  const span = (start: number, n: number) => Array.from({ length: n }, (_, j) => start + j);
  q.groups.forEach((g, gi) => {
    const kvg = kv?.groups[gi];
    for (let i = 0; i < g.prefixLen; ++i) {
      const keys = kvg ? span(kvg.start, kvg.prefixLen) : span(g.start, causal ? i + 1 : g.prefixLen);
      for (const k of keys) add(all, g.start + i, k);
    }
    g.candStart.forEach((cs, c) => {
      for (let j = 0; j < g.candLen[c]!; ++j) {
        for (const k of kvg ? span(kvg.start, kvg.prefixLen) : span(g.start, g.prefixLen)) add(all, cs + j, k);
        if (!kvg) for (const k of span(cs, j + 1)) add(all, cs + j, k); // its own earlier rows and itself
      }
    });
  });
  return all;
}

function checkLists(l: AttentionLists, q: PlannedRows, causal: boolean, kv?: PlannedRows): void {
  const want = cpuPairs(q, causal, kv);
  const fwd = tileWalk(l);
  expectSamePairs(fwd.pairs, want, 'forward and dq: every visible (query, key) pair once');
  expect([...fwd.rowsSeen.values()].every((n) => n === 1)).toBe(true); // each query row's dq written once
  // dK/dV: the chunks' pairs (stored once per key) plus the candidates' own keys (the dq kernel's atomics)
  const back = kvWalk(l);
  const both: Pairs = new Map(back.pairs);
  for (const [k, n] of fwd.own) both.set(k, (both.get(k) ?? 0) + n);
  expectSamePairs(both, want, 'dK/dV: every visible pair once');
  const chunkKeys = new Set([...back.pairs.keys()].map((s) => Number(s.split(',')[1])));
  const ownKeys = new Set([...fwd.own.keys()].map((s) => Number(s.split(',')[1])));
  expect([...back.stores.keys()].sort((a, b) => a - b)).toEqual([...chunkKeys].sort((a, b) => a - b));
  expect([...back.stores.values()].every((n) => n === 1)).toBe(true); // each chunk key stored by one CTA
  expect([...ownKeys].filter((k) => chunkKeys.has(k))).toEqual([]); // stores and atomics never share a row
  for (let t = 0; t < l.tiles.length / 4; ++t) expect(l.tiles[4 * t + 2]!).toBeLessThanOrEqual(q.rowsPerTile);
}

// prompts of 3, 70 and 1 tokens (70: several 32-key chunks and two 64-row tiles), candidates of 1..3 tokens
const prompts = [[5, 6, 7], Array.from({ length: 70 }, (_, i) => 10 + i), [99]];
const candidates = [[[1], [2, 3], [4, 5, 6]], Array.from({ length: 25 }, (_, k) => [100 + k, 200 + k, 300 - k]), [[42, 43]]];

describe.each([
  ['fixture shape (head size 12)', fixture],
  ['flan-t5 shape (head size 64)', flanShape],
])('T5 attention lists, %s', (_n, cfg) => {
  const batch = packBatch({ prompts, candidates }, { vocabSize: cfg.vocabSize, maxPositions: cfg.maxPositions });
  describe.each([false, true])('naive %s', (naive) => {
    const p = plan.t5(cfg, batch, naive);

    test('the groups are the batch: one encoder group per prompt (naive: per candidate), decoder [start] + candidates', () => {
      const K = batch.candStart.length;
      expect(p.enc.groups.length).toBe(naive ? K : prompts.length);
      p.enc.groups.forEach((g, i) => {
        const b = naive ? batch.candPrompt[i]! : i;
        expect(g.prefixLen).toBe(prompts[b]!.length);
        expect(g.candStart.length).toBe(0);
        for (let j = 0; j < g.prefixLen; ++j) expect(p.encPos[g.start + j]).toBe(j);
      });
      expect(p.Te).toBe(p.enc.groups.reduce((a, g) => a + g.prefixLen, 0));
      p.dec.groups.forEach((g, i) => {
        if (naive) expect(g.prefixLen).toBe(1 + batch.candLen[i]!);
        else expect([g.prefixLen, g.candStart.length]).toEqual([1, candidates[i]!.length]);
      });
      expect(p.enc.bidirectional).toBe(true);
      expect(p.dec.bidirectional).toBe(false);
    });

    test('encoder (bidirectional): the tiles and dK/dV chunks cover each prompt row x prompt row once', () => {
      checkLists(p.enc, p.enc, false);
    });

    test("decoder self attention (causal shared prefix): each row's prefix and own earlier rows once", () => {
      checkLists(p.dec, p.dec, true);
    });

    test("cross attention: every decoder row x every encoder row of its prompt once, keys streamed from the encoder's rows", () => {
      checkLists(p.cross, p.dec, false, p.enc);
      for (let t = 0; t < p.cross.tiles.length / 4; ++t) expect(p.enc.groups.some((g) => g.start === p.cross.tiles[4 * t])).toBe(true);
    });
  });
});

describe('relative position buckets in the kernels (RelBucketCuts)', () => {
  const rels = Int32Array.from({ length: 10001 }, (_, i) => i - 5000);
  test.each([
    [32, 128], [6, 10], [16, 64], [64, 200], [128, 1000], [8, 9], [32, 5000],
  ])('%i buckets, max distance %i: the integer form equals the float form at every |rel| <= 5000, both directions', (nb, md) => {
    for (const bidir of [true, false]) expect([...plan.bucketCuts(rels, bidir, nb, md)]).toEqual([...t5.buckets(rels, bidir, nb, md)]);
  });
});
