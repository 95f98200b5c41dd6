// Scorer: what the agent needs from a policy, as a structural type — one method that scores every
// prompt's candidate actions. A Policy satisfies it, and so do the random baseline, the generalization
// suite's prompt-rewriting wrapper and the trainer's token-keeping scorer; nothing here imports the
// engine.
// Subtle: `ids` is optional (and not `tokens`, which a Policy's ScoreResult uses for token counts). A scorer that tokenized the batch itself (the trainer's) hands back the
// ids it scored, so the rollout can keep them and PPO's epochs need not tokenize the same prompts again.
// Legend: B prompts, K_b candidates of prompt b, N = sum K_b.

/** A batch of prompts, each with its candidate actions. */
export interface ScoreBatch {
  prompts: string[]; // (B)
  candidates: string[][]; // (B)(K_b)
}

/** The token ids a scorer scored: prompts (B)(P_b), candidates (B)(K_b)(A). */
export interface ScoredTokens {
  prompts: number[][];
  candidates: number[][][];
}

/** What the agent reads from a score. */
export interface CandidateScores {
  /** (B+1) candidates of prompt b are [candOffset[b], candOffset[b+1]). */
  candOffset: Int32Array;
  /** (N) softmax of the candidates' log-likelihoods over each prompt's candidates: the policy. */
  probs: Float32Array;
  /** (B) value head output per prompt. */
  values: Float32Array;
  /** The ids scored, when the scorer tokenized the batch itself. */
  ids?: ScoredTokens;
}

export interface Scorer {
  score(req: ScoreBatch): Promise<CandidateScores>;
}
