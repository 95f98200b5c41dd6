// Batch packing: prompts with ragged candidate lists -> token ids -> the flat PackedBatch the engine
// scores (lib/native/binding.ts NativeBatch). Pure functions, tested directly.
// Tokenization ('separate', the default): a candidate's ids are the candidate tokenized on its own
// (no special tokens) appended to the prompt's ids (tokenized with special tokens). 'joint':
// prompt+candidate is tokenized as one string, and the prompt part is the longest prefix of ids that
// every candidate's joint encoding shares with the prompt's own encoding (capped so each candidate
// keeps at least one token); the rest is the candidate. Joint matches what a naive
// `tokenizer(prompt + action)` scorer sees when BPE merges across the boundary. 'lamorel': as
// 'separate' but the prompt WITHOUT special tokens, as Lamorel tokenizes contexts
// (add_special_tokens=False: no </s> after a T5 prompt, no BOS before a Llama one).
// Legend: B prompts, K_b candidates of prompt b, P_b prompt tokens, A_bk candidate tokens, T total.
import { GlamError } from '../errors.js';
import type { NativeBatch } from '../native/binding.js';
import { invalid } from './arguments.js';
import type { TextTokenizer } from './tokenizer.js';

export type Tokenization = 'separate' | 'joint' | 'lamorel';
export const TOKENIZATIONS: readonly Tokenization[] = ['separate', 'joint', 'lamorel'];

/** Whether a prompt is encoded with the tokenizer's special tokens: every tokenization but 'lamorel'. */
export function promptSpecials(mode: Tokenization): boolean {
  return mode !== 'lamorel';
}

export interface TokenizedBatch {
  prompts: number[][]; // (B)(P_b)
  candidates: number[][][]; // (B)(K_b)(A_bk)
}

export function tokenizeBatch(tok: TextTokenizer, prompts: readonly string[], candidates: readonly (readonly string[])[],
  mode: Tokenization = 'separate'): TokenizedBatch {
  checkTexts(prompts, candidates);
  const out: TokenizedBatch = { prompts: [], candidates: [] };
  for (let b = 0; b < prompts.length; ++b) {
    const p = tok.encode(prompts[b]!, promptSpecials(mode));
    if (mode !== 'joint') {
      out.prompts.push(p);
      out.candidates.push(candidates[b]!.map((c) => tok.encode(c, false)));
      continue;
    }
    const joint = candidates[b]!.map((c) => tok.encode(prompts[b]! + c, true));
    let shared = p.length;
    for (const j of joint) {
      let n = 0;
      while (n < shared && n < j.length - 1 && j[n] === p[n]) ++n;
      shared = n;
    }
    if (shared === 0) {
      throw new GlamError('BatchInvalid',
        `joint tokenization of prompt ${b} shares no token with the prompt's own tokenization; use tokenization 'separate'`);
    }
    out.prompts.push(p.slice(0, shared));
    out.candidates.push(joint.map((j) => j.slice(shared)));
  }
  return out;
}

function checkTexts(prompts: readonly string[], candidates: readonly (readonly string[])[]): void {
  if (!Array.isArray(prompts) || !Array.isArray(candidates) || prompts.length !== candidates.length) {
    throw new GlamError('BatchInvalid', 'score() needs `prompts` and `candidates` arrays of the same length (one candidate list per prompt)');
  }
  if (prompts.length === 0) throw new GlamError('BatchInvalid', 'the batch is empty: pass at least one prompt');
  prompts.forEach((p, b) => {
    if (typeof p !== 'string') throw invalid(`prompts[${b}]`, 'a string', p);
    if (p.length === 0) throw new GlamError('EmptyPrompt', `prompt ${b} is empty; every prompt needs text`);
    const cs = candidates[b];
    if (!Array.isArray(cs) || cs.length === 0) throw new GlamError('EmptyCandidates', `prompt ${b} has no candidate actions; pass at least one`);
    cs.forEach((c, k) => {
      if (typeof c !== 'string') throw invalid(`candidates[${b}][${k}]`, 'a string', c);
      if (c.length === 0) throw new GlamError('EmptyCandidate', `candidate ${k} of prompt ${b} is empty`);
    });
  });
}

/** Packs token ids into the engine's layout, checking every bound the engine relies on. */
export function packBatch(t: TokenizedBatch, limits: { vocabSize: number; maxPositions: number }): NativeBatch {
  if (!Array.isArray(t?.prompts) || !Array.isArray(t.candidates) || t.prompts.length !== t.candidates.length || t.prompts.length === 0) {
    throw new GlamError('BatchInvalid', 'a tokenized batch needs non-empty `prompts` and `candidates` arrays of the same length (one candidate list per prompt)');
  }
  if (!t.prompts.every(Array.isArray) || !t.candidates.every((cs) => Array.isArray(cs) && cs.every(Array.isArray))) {
    throw new GlamError('BatchInvalid', 'prompts must be arrays of token ids and candidates arrays of arrays of token ids');
  }
  const B = t.prompts.length;
  let T = 0;
  let N = 0;
  for (let b = 0; b < B; ++b) {
    const P = t.prompts[b]!.length;
    if (P === 0) throw new GlamError('EmptyPrompt', `prompt ${b} tokenizes to no tokens`);
    const cs = t.candidates[b]!;
    if (cs.length === 0) throw new GlamError('EmptyCandidates', `prompt ${b} has no candidate actions`);
    T += P;
    cs.forEach((c, k) => {
      if (c.length === 0) throw new GlamError('EmptyCandidate', `candidate ${k} of prompt ${b} tokenizes to no tokens`);
      if (P + c.length > limits.maxPositions) {
        throw new GlamError('SequenceTooLong',
          `prompt ${b} with candidate ${k} is ${P + c.length} tokens but the model has ${limits.maxPositions} positions; shorten the prompt (e.g. less memory)`);
      }
      T += c.length;
      ++N;
    });
  }
  const batch: NativeBatch = {
    tokens: new Int32Array(T), promptStart: new Int32Array(B), promptLen: new Int32Array(B),
    candStart: new Int32Array(N), candLen: new Int32Array(N), candPrompt: new Int32Array(N),
  };
  let row = 0;
  let n = 0;
  const put = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= limits.vocabSize) {
      throw new GlamError('TokenOutOfRange', `token id ${id} is outside the model's vocabulary of ${limits.vocabSize}; the tokenizer does not match the model`);
    }
    batch.tokens[row++] = id;
  };
  for (let b = 0; b < B; ++b) {
    batch.promptStart[b] = row;
    batch.promptLen[b] = t.prompts[b]!.length;
    t.prompts[b]!.forEach(put);
    for (const c of t.candidates[b]!) {
      batch.candStart[n] = row;
      batch.candLen[n] = c.length;
      batch.candPrompt[n] = b;
      ++n;
      c.forEach(put);
    }
  }
  return batch;
}
