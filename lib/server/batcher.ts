// Dynamic batching: concurrent requests' prompts are coalesced into one fused Policy.scoreTokens pass
// of at most maxBatchTokens packed tokens, each request getting its own slices back.
// The unit is an item (one prompt with its candidates): a request with many prompts may be split over
// passes, and an item alone over the limit runs in a pass of its own (the engine itself rejects a
// batch its memory cannot hold, BatchTooLarge on the GPU; prompts are bounded by the context).
// Scheduling: a pass starts when the engine is free and either the waiting tokens fill a batch or the
// oldest waiting request has waited maxWaitMs; it waits at all only under load (the last pass held
// several requests), so a lone client is never delayed. Coalescing off: a pass takes one request.
// Subtle: the queue bound counts requests none of whose items has started (429 past maxQueue); a pass
// that fails with several requests in it is re-run per request, so one bad request (a native error)
// fails alone; passes of one kind (mode 'fused'/'naive', and top-N alternatives or not) never mix,
// in FIFO order: the alternatives cost a full vocabulary row per scored row, which plain scoring of
// the same pass should not pay. A top-N pass computes its requests' largest N for all of them.
// Legend: P prompt tokens, K candidates of an item, A_k tokens of candidate k, C hidden.
import type { Policy } from '../policy/policy.js';
import type { ScoreResult } from '../policy/score-result.js';
import { packBatch, type TokenizedBatch } from '../policy/batch.js';
import { ServerError } from './http-error.js';

export type Mode = 'fused' | 'naive';

export interface ScoreItem {
  prompt: number[]; // (P)
  candidates: number[][]; // (K)(A_k)
}

/** How a submit's items are scored: the engine mode, and n > 0 top alternatives per target token. */
export interface SubmitOptions {
  mode?: Mode;
  topN?: number;
}

export interface ItemResult {
  logprobs: number[]; // (K)
  probs: number[]; // (K) softmax over this item's candidates
  tokens: number[]; // (K)
  tokenLogprobs: number[][]; // (K)(A_k)
  value: number;
  /** With topN: each target token's n >= topN best alternatives (the pass's largest topN), (sum_k A_k, n) candidate after candidate. */
  top?: { n: number; ids: Int32Array; logprobs: Float32Array };
}

export interface BatcherOptions {
  maxBatchTokens: number;
  maxWaitMs: number;
  maxQueue: number;
  coalesce: boolean;
}

export interface PassStats {
  prompts: number;
  tokens: number;
  candidates: number;
  requests: number;
  seconds: number;
}

interface Pending {
  items: ScoreItem[];
  sizes: number[];
  mode: Mode;
  topN: number;
  next: number; // first item not yet dispatched
  done: number;
  results: ItemResult[];
  arrived: number;
  failed: boolean;
  resolve: (r: ItemResult[]) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  readonly #policy: Policy;
  readonly #opts: BatcherOptions;
  readonly #onPass: (s: PassStats) => void;
  #queue: Pending[] = [];
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #passSeconds = 0.05; // running mean, for Retry-After
  #lastRequests = 0; // requests in the last pass
  #idleWaiters: (() => void)[] = [];

  constructor(policy: Policy, opts: BatcherOptions, onPass: (s: PassStats) => void = () => undefined) {
    this.#policy = policy;
    this.#opts = opts;
    this.#onPass = onPass;
  }

  /** Requests none of whose prompts has started. */
  get waiting(): number {
    return this.#queue.reduce((n, p) => n + (p.next === 0 ? 1 : 0), 0);
  }

  /** Validates, queues and scores the items; resolves with one result per item, in order. */
  submit(items: ScoreItem[], opts: SubmitOptions = {}): Promise<ItemResult[]> {
    const mode = opts.mode ?? 'fused', topN = opts.topN ?? 0;
    if (items.length === 0) return Promise.resolve([]);
    const t: TokenizedBatch = { prompts: items.map((i) => i.prompt), candidates: items.map((i) => i.candidates) };
    packBatch(t, { vocabSize: this.#policy.config.vocabSize, maxPositions: this.#policy.config.maxPositions }); // typed shape errors, before queueing
    const sizes = items.map((it) => it.prompt.length + it.candidates.reduce((n, c) => n + c.length, 0));
    if (this.waiting >= this.#opts.maxQueue) {
      const retry = Math.max(1, Math.ceil(this.waiting * this.#passSeconds));
      throw new ServerError('Overloaded', 429, `the server's queue is full (${this.#opts.maxQueue} waiting requests, --max-queue); retry after ${retry} s`, retry);
    }
    return new Promise<ItemResult[]>((resolve, reject) => {
      this.#queue.push({ items, sizes, mode, topN, next: 0, done: 0, results: new Array(items.length), arrived: performance.now(), failed: false, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  #kick(): void {
    if (this.#running) return;
    if (this.#queue.length === 0) {
      for (const w of this.#idleWaiters.splice(0)) w();
      return;
    }
    const waited = performance.now() - this.#queue[0]!.arrived;
    let pending = 0;
    for (const p of this.#queue) for (let i = p.next; i < p.items.length; ++i) pending += p.sizes[i]!;
    // wait for company only under load (the last pass coalesced requests): a lone client is not delayed
    const wait = this.#opts.coalesce && this.#lastRequests > 1;
    if (!wait || pending >= this.#opts.maxBatchTokens || waited >= this.#opts.maxWaitMs) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      void this.#pass();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#kick();
      }, Math.max(0, this.#opts.maxWaitMs - waited));
    }
  }

  /** Takes items from the head of the queue up to the token limit and scores them in one pass. */
  async #pass(): Promise<void> {
    this.#running = true;
    const mode = this.#queue[0]!.mode, top = this.#queue[0]!.topN > 0;
    const taken: { p: Pending; i: number }[] = [];
    let tokens = 0;
    outer: for (const p of this.#queue) {
      if (p.mode !== mode || p.topN > 0 !== top) break;
      while (p.next < p.items.length) {
        const n = p.sizes[p.next]!;
        if (taken.length > 0 && tokens + n > this.#opts.maxBatchTokens) break outer;
        taken.push({ p, i: p.next++ });
        tokens += n;
      }
      if (!this.#opts.coalesce) break;
    }
    this.#queue = this.#queue.filter((p) => p.next < p.items.length);
    const t0 = performance.now();
    const requests = new Set(taken.map((x) => x.p));
    const topN = Math.max(0, ...[...requests].map((p) => p.topN)); // the best n are a prefix of the best n' > n
    try {
      await this.#score(taken, mode, topN);
    } catch (e) {
      if (requests.size === 1) this.#fail(taken[0]!.p, e);
      else for (const p of requests) await this.#score(taken.filter((x) => x.p === p), mode, topN).catch((e2) => this.#fail(p, e2));
    }
    const seconds = (performance.now() - t0) / 1000;
    this.#passSeconds = 0.8 * this.#passSeconds + 0.2 * seconds;
    this.#lastRequests = requests.size;
    this.#onPass({ prompts: taken.length, tokens, candidates: taken.reduce((s, x) => s + x.p.items[x.i]!.candidates.length, 0), requests: requests.size, seconds });
    this.#running = false;
    this.#kick();
  }

  async #score(taken: { p: Pending; i: number }[], mode: Mode, topN: number): Promise<void> {
    const items = taken.map((x) => x.p.items[x.i]!);
    const r = await this.#policy.scoreTokens(
      { prompts: items.map((it) => it.prompt), candidates: items.map((it) => it.candidates) },
      { mode, ...(topN > 0 ? { topN } : {}) });
    taken.forEach((x, b) => {
      if (x.p.failed) return;
      x.p.results[x.i] = slice(r, b, topN);
      if (++x.p.done === x.p.items.length) x.p.resolve(x.p.results);
    });
  }

  #fail(p: Pending, e: unknown): void {
    if (p.failed) return;
    p.failed = true;
    this.#queue = this.#queue.filter((q) => q !== p); // its remaining items are dropped
    p.reject(e);
  }
}

/** Prompt b's part of a merged pass. */
function slice(r: ScoreResult, b: number, n: number): ItemResult {
  const s = r.candOffset[b]!, e = r.candOffset[b + 1]!;
  const tokenLogprobs: number[][] = [];
  for (let k = s; k < e; ++k) tokenLogprobs.push(Array.from(r.tokenLogprobs.subarray(r.tokenOffset[k]!, r.tokenOffset[k + 1]!)));
  const t0 = r.tokenOffset[s]! * n, t1 = r.tokenOffset[e]! * n;
  return {
    logprobs: Array.from(r.logprobs.subarray(s, e)), probs: Array.from(r.probs.subarray(s, e)), tokens: Array.from(r.tokens.subarray(s, e)),
    tokenLogprobs, value: r.values[b]!,
    ...(n > 0 && r.topIds && r.topLogprobs ? { top: { n, ids: r.topIds.slice(t0, t1), logprobs: r.topLogprobs.slice(t0, t1) } } : {}),
  };
}
