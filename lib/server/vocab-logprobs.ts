// Full-vocabulary log-probabilities from the engine's final-norm hidden states: the LM head (the
// model's own lm_head weight, or the tied embedding) applied here with double accumulation, then a
// log-softmax in double. The fused scorer never forms a vocabulary row (it gathers only the target
// tokens), so top-N alternatives (OpenAI `logprobs`) are computed here from `hidden` instead.
// Subtle: exact, not an approximation: hidden is the state the engine's head reads (checked against
// the engine's own token log-probs in test/server/vocab-logprobs.test.ts). The head weight is read
// once (a copy of the model's parameters: a pause of the event loop on a large model) and again after
// a training step (mutating()); LoRA never adapts the head. Rows are done in
// chunks, yielding to the event loop between chunks, so a long prompt does not stall other requests.
// The product is a plain loop rather than the engine's GEMM: the production addon exports no op-level
// GEMM (those are test hooks, glam_cpu_test.node), and R rows x V x C multiply-adds per request are
// small next to the P^2/2 prefix tokens the hidden states cost.
// Legend: R rows, C hidden, V vocabulary.
import type { Policy } from '../policy/policy.js';
import { GlamError } from '../errors.js';

const HEAD_NAMES = ['lm_head.weight', 'model.embed_tokens.weight', 'transformer.wte.weight', 'wte.weight'];
/** Multiply-adds per chunk: a few milliseconds of the event loop at a time, whatever the model. */
const CHUNK_MACS = 2e7;

export interface TopN {
  ids: number[]; // (n) best first
  logprobs: number[]; // (n)
}

/** One row's top n, and the log-prob of the id asked for with it (NaN when none). */
export interface RowTop {
  top: TopN;
  also: number;
}

export class VocabLogprobs {
  readonly #policy: Policy;
  #head: Float32Array | null = null; // (V, C)
  #mutation: Promise<void> = Promise.resolve();
  #active = 0;

  constructor(policy: Policy) {
    this.#policy = policy;
  }

  /** Runs a call that changes the weights (a training step); the head is read again after it, never during it. */
  async mutating<T>(f: () => Promise<T>): Promise<T> {
    ++this.#active;
    const run = f();
    this.#mutation = run.then(() => undefined, () => undefined);
    try {
      return await run;
    } finally {
      --this.#active;
      this.#head = null;
    }
  }

  /** For each of R hidden rows (R, C): the n most likely next tokens and their log-probs, and the log-probs of `also` ids (one per row, or -1). */
  async top(hidden: Float32Array[], n: number, also: number[]): Promise<RowTop[]> {
    const { hiddenSize: C, vocabSize: V } = this.#policy.config;
    while (this.#active > 0) await this.#mutation;
    const W = this.#weight(); // no await between the check and the copy: no step runs meanwhile
    const out: RowTop[] = [];
    const CHUNK = Math.max(1, Math.floor(CHUNK_MACS / (V * C)));
    for (let r0 = 0; r0 < hidden.length; r0 += CHUNK) {
      const rows = hidden.slice(r0, r0 + CHUNK);
      for (let i = 0; i < rows.length; ++i) out.push(rowTop(headRow(rows[i]!, W, V, C), n, also[r0 + i] ?? -1));
      if (r0 + CHUNK < hidden.length) await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  #weight(): Float32Array {
    if (this.#head) return this.#head;
    const t = this.#policy.exportTensors('params', 'model');
    const name = HEAD_NAMES.find((k) => t[k]);
    if (!name) throw new GlamError('Internal', `the model exports no LM head weight (looked for ${HEAD_NAMES.join(', ')})`);
    this.#head = t[name]!.data;
    return this.#head;
  }
}

/** One row's logits (V): W (V, C) times h (C), accumulated in double. */
function headRow(h: Float32Array, W: Float32Array, V: number, C: number): Float64Array {
  const logits = new Float64Array(V);
  for (let v = 0; v < V; ++v) {
    let acc = 0;
    const o = v * C;
    for (let c = 0; c < C; ++c) acc += W[o + c]! * h[c]!;
    logits[v] = acc;
  }
  return logits;
}

/** Log-softmax of one logits row (V) in double; the n largest and the log-prob of `also`. */
function rowTop(logits: Float64Array, n: number, also: number): RowTop {
  let m = -Infinity;
  for (let v = 0; v < logits.length; ++v) if (logits[v]! > m) m = logits[v]!;
  let z = 0;
  for (let v = 0; v < logits.length; ++v) z += Math.exp(logits[v]! - m);
  const lse = m + Math.log(z);
  const ids: number[] = []; // kept sorted by logit, descending; ties: lower id first
  for (let v = 0; v < logits.length && n > 0; ++v) {
    const x = logits[v]!;
    if (ids.length === n && x <= logits[ids[n - 1]!]!) continue;
    let j = ids.length < n ? ids.length : n - 1;
    while (j > 0 && logits[ids[j - 1]!]! < x) --j;
    ids.splice(j, 0, v);
    if (ids.length > n) ids.pop();
  }
  return { top: { ids, logprobs: ids.map((v) => logits[v]! - lse) }, also: also >= 0 ? logits[also]! - lse : NaN };
}
