// Dynamic batching (lib/server/batcher.ts): concurrent requests coalesce into fused passes whose
// slices equal each request scored alone by Policy.scoreTokens; the token limit splits passes; an
// item over the limit runs in a pass of its own; a full queue is Overloaded (429 with Retry-After); coalescing
// off runs one request per pass; a pass failing in one request fails that request alone; requests
// asking for top-N alternatives never share a pass with plain ones, and get their own slices of them.
// Tolerance: within 5e-6, not bit for bit: the engine's GEMM blocks rows differently when a pass
// holds more rows, which reorders float sums.
import { afterAll, beforeAll, expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { Policy } from '../../lib/policy/policy.js';
import { Batcher, type PassStats, type ScoreItem } from '../../lib/server/batcher.js';
import { ServerError } from '../../lib/server/http-error.js';

let policy: Policy;
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
});
afterAll(async () => policy?.dispose());

const ACTIONS = ['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle'];
function item(i: number): ScoreItem {
  const prompt = policy.tokenizer.encode(`Goal of the agent: go to the ${['red', 'blue', 'green'][i % 3]} ball\nObservation ${i}: a wall ${i} steps left\nAction ${i}: `, true);
  return { prompt, candidates: ACTIONS.slice(0, 2 + (i % 5)).map((a) => policy.tokenizer.encode(a, false)) };
}

test('concurrent requests share fused passes and each gets its own numbers', async () => {
  const passes: PassStats[] = [];
  const b = new Batcher(policy, { maxBatchTokens: 100_000, maxWaitMs: 20, maxQueue: 100, coalesce: true }, (s) => passes.push(s));
  const reqs = Array.from({ length: 12 }, (_, i) => (i % 4 === 0 ? [item(i), item(i + 1)] : [item(i)]));
  const got = await Promise.all(reqs.map((r) => b.submit(r)));
  expect(passes.length).toBeLessThan(reqs.length);
  expect(Math.max(...passes.map((p) => p.requests))).toBeGreaterThan(1);
  for (let r = 0; r < reqs.length; ++r) {
    const alone = await policy.scoreTokens({ prompts: reqs[r]!.map((i) => i.prompt), candidates: reqs[r]!.map((i) => i.candidates) });
    got[r]!.forEach((res, j) => {
      const s = alone.candOffset[j]!, e = alone.candOffset[j + 1]!;
      expect(res.logprobs.length).toBe(e - s);
      res.logprobs.forEach((lp, k) => expect(lp).toBeCloseTo(alone.logprobs[s + k]!, 5));
      res.probs.forEach((p, k) => expect(p).toBeCloseTo(alone.probs[s + k]!, 5));
      expect(res.tokens).toEqual(Array.from(alone.tokens.subarray(s, e)));
      expect(res.value).toBeCloseTo(alone.values[j]!, 5);
      res.tokenLogprobs.forEach((tl, k) => expect(tl.length).toBe(alone.tokens[s + k]));
    });
  }
});

test('the token limit splits a pass; a prompt over the limit runs alone', async () => {
  const passes: PassStats[] = [];
  const size = (i: ScoreItem) => i.prompt.length + i.candidates.reduce((s, c) => s + c.length, 0);
  const items = Array.from({ length: 6 }, (_, i) => item(i));
  const limit = Math.max(...items.map(size)) + 5;
  const b = new Batcher(policy, { maxBatchTokens: limit, maxWaitMs: 0, maxQueue: 10, coalesce: true }, (s) => passes.push(s));
  const got = await b.submit(items);
  expect(got.length).toBe(6);
  expect(passes.length).toBeGreaterThan(1);
  for (const p of passes) expect(p.tokens).toBeLessThanOrEqual(limit);
  const small: PassStats[] = [];
  const one = new Batcher(policy, { maxBatchTokens: 10, maxWaitMs: 0, maxQueue: 10, coalesce: true }, (x) => small.push(x));
  const alone = await one.submit([item(0), item(1)]); // each prompt is over the limit: each runs in a pass of its own
  await one.idle();
  expect(small.map((x) => x.prompts)).toEqual([1, 1]);
  expect(alone[1]!.logprobs.length).toBe(item(1).candidates.length);
});

test('a full queue is Overloaded with a Retry-After; coalescing off runs one request per pass', async () => {
  const passes: PassStats[] = [];
  const b = new Batcher(policy, { maxBatchTokens: 100_000, maxWaitMs: 0, maxQueue: 2, coalesce: false }, (s) => passes.push(s));
  const ok: Promise<unknown>[] = [];
  let rejected: unknown;
  for (let i = 0; i < 6 && !rejected; ++i) {
    try { ok.push(b.submit([item(i)])); } catch (e) { rejected = e; }
  }
  expect(rejected).toBeInstanceOf(ServerError);
  expect((rejected as ServerError).status).toBe(429);
  expect((rejected as ServerError).retryAfterS).toBeGreaterThanOrEqual(1);
  await Promise.all(ok);
  expect(passes.every((p) => p.requests === 1)).toBe(true);
});

test('a pass that fails in one request fails that request alone', async () => {
  // a stand-in engine whose pass fails whenever token 13 is in the batch (a native error in one request)
  const fake = {
    config: policy.config,
    scoreTokens: async (t: { prompts: number[][]; candidates: number[][][] }, o: { hidden?: boolean }) => {
      if (t.prompts.some((p) => p.includes(13))) throw new GlamError('Internal', 'native engine failed: boom');
      return policy.scoreTokens(t, o);
    },
  } as unknown as Policy;
  const b = new Batcher(fake, { maxBatchTokens: 100_000, maxWaitMs: 30, maxQueue: 10, coalesce: true });
  const results = await Promise.allSettled([b.submit([item(1)]), b.submit([{ prompt: [13, 14], candidates: [[1]] }]), b.submit([item(2)])]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(((results[1] as PromiseRejectedResult).reason as GlamError).code).toBe('Internal');
  await b.idle();
});

test('bad shapes are typed errors before anything is queued', async () => {
  const b = new Batcher(policy, { maxBatchTokens: 100_000, maxWaitMs: 0, maxQueue: 10, coalesce: true });
  const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as GlamError).code; } return undefined; };
  expect(code(() => b.submit([{ prompt: [], candidates: [[1]] }]))).toBe('EmptyPrompt');
  expect(code(() => b.submit([{ prompt: [1], candidates: [] }]))).toBe('EmptyCandidates');
  expect(code(() => b.submit([{ prompt: [1], candidates: [[policy.config.vocabSize]] }]))).toBe('TokenOutOfRange');
  expect(code(() => b.submit([{ prompt: new Array(policy.config.maxPositions).fill(1), candidates: [[1]] }]))).toBe('SequenceTooLong');
  expect(b.waiting).toBe(0);
});

test('top-N requests run in passes of their own (the largest N), each getting its targets\' alternatives', async () => {
  const passes: PassStats[] = [];
  const b = new Batcher(policy, { maxBatchTokens: 100_000, maxWaitMs: 20, maxQueue: 100, coalesce: true }, (s) => passes.push(s));
  const plain = [item(0), item(1)], top = [item(2), item(3)];
  const [a, c, d] = await Promise.all([b.submit(plain), b.submit(top, { topN: 3 }), b.submit([item(4)], { topN: 2 })]);
  expect(a!.every((r) => r.top === undefined)).toBe(true);
  expect(passes.length).toBe(2); // the plain pass, then both top-N requests together, with the larger N
  for (const [res, its] of [[c!, top], [d!, [item(4)]]] as const) {
    const alone = await policy.scoreTokens({ prompts: its.map((i) => i.prompt), candidates: its.map((i) => i.candidates) }, { topN: 3 });
    res.forEach((r, j) => {
      const t0 = alone.tokenOffset[alone.candOffset[j]!]!, t1 = alone.tokenOffset[alone.candOffset[j + 1]!]!;
      expect(r.top!.n).toBe(3);
      expect(Array.from(r.top!.ids)).toEqual(Array.from(alone.topIds!.subarray(t0 * 3, t1 * 3)));
      r.top!.logprobs.forEach((x, k) => expect(x).toBeCloseTo(alone.topLogprobs![t0 * 3 + k]!, 5));
    });
  }
});
