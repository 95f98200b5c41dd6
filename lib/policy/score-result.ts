// What scoring takes and gives: the request (prompts and their candidate actions) and the result
// (per-candidate log-probs and probabilities, per-token log-probs, per-prompt values), with the
// softmax that turns candidate log-probs into the policy. Policy.score/scoreTokens/forward fill these.
// Subtle: results are flat over all candidates of all prompts; offsets (candOffset, tokenOffset) say
// where each prompt's candidates and each candidate's tokens start. The softmax runs per prompt, in double.
// Legend: B prompts, K_b candidates of prompt b, N = sum K_b, A_k tokens of candidate k, C hidden.
import type { Tokenization } from './batch.js';

export interface ScoreRequest {
  prompts: string[]; // (B)
  candidates: string[][]; // (B)(K_b)
  /** 'fused' (default): each prompt once, shared keys/values, fused LM head. 'naive': each prompt+candidate as a full sequence. */
  mode?: 'fused' | 'naive';
  /** How candidates are tokenized (see lib/policy/batch.ts). Default 'separate'; 'lamorel': prompts without special tokens (no T5 </s>). */
  tokenization?: Tokenization;
  /** Also return each prompt's last-token final hidden state (T5: the decoder's at position 0, the value head's input). */
  hidden?: boolean;
}

export interface ScoreResult {
  /** (B+1) candidates of prompt b are [candOffset[b], candOffset[b+1]). */
  candOffset: Int32Array;
  /** (N) sum of the candidate's token log-probs. */
  logprobs: Float32Array;
  /** (N) softmax of logprobs over each prompt's candidates: the policy. */
  probs: Float32Array;
  /** (N) tokens per candidate. */
  tokens: Int32Array;
  /** (N+1) token log-probs of candidate k are tokenLogprobs[tokenOffset[k] .. tokenOffset[k+1]). */
  tokenOffset: Int32Array;
  tokenLogprobs: Float32Array;
  /** (B) value head output per prompt. */
  values: Float32Array;
  /** (B, C) when requested. */
  hidden?: Float32Array;
  /**
   * With scoreTokens' topN = n > 0 (fused): for token j of tokenLogprobs, the n most likely tokens of
   * the distribution it was drawn from (the whole vocabulary's log-softmax), best first, at
   * [j*n, (j+1)*n). One pass: a prompt scored as its first token + the rest gives every position's.
   */
  topIds?: Int32Array;
  topLogprobs?: Float32Array;
}

/** Softmax over each prompt's candidates, in double. */
export function candidateSoftmax(logprobs: Float32Array, candOffset: Int32Array): Float32Array {
  const probs = new Float32Array(logprobs.length);
  for (let b = 0; b + 1 < candOffset.length; ++b) {
    const s = candOffset[b]!, e = candOffset[b + 1]!;
    let m = -Infinity;
    for (let k = s; k < e; ++k) m = Math.max(m, logprobs[k]!);
    let z = 0;
    for (let k = s; k < e; ++k) z += Math.exp(logprobs[k]! - m);
    for (let k = s; k < e; ++k) probs[k] = Math.exp(logprobs[k]! - m) / z;
  }
  return probs;
}
