// TokenScorer: the rollout's Scorer (lib/agent/scorer.ts) over a Policy that tokenizes each batch
// itself and hands back the ids it scored, so the rollout buffer keeps them and the update's forward
// passes (epochs × minibatches over the same transitions) take ids instead of text.
// Subtle: the ids are exactly Policy.score's for the same tokenization (lib/policy/batch.ts): 'separate'
// (the default: each prompt with the tokenizer's special tokens, each candidate on its own without
// them) or 'lamorel' (the prompt without them: no T5 </s>, no BOS), prompts encoded by the same
// promptSpecials rule; 'joint' is tokenizeBatch itself. Candidates come from a small action vocabulary,
// so their ids are computed once and shared (never mutated).
import type { CandidateScores, ScoreBatch, Scorer, ScoredTokens } from '../agent/scorer.js';
import { promptSpecials, tokenizeBatch, type Tokenization } from '../policy/batch.js';
import type { Policy } from '../policy/policy.js';

export class TokenScorer implements Scorer {
  readonly #candidates = new Map<string, number[]>();

  constructor(readonly policy: Policy, readonly tokenization: Tokenization = 'separate') {}

  /** The ids Policy.score would use for this batch with this tokenization. */
  tokenize(req: ScoreBatch): ScoredTokens {
    const tok = this.policy.tokenizer;
    if (this.tokenization === 'joint') return tokenizeBatch(tok, req.prompts, req.candidates, 'joint');
    const cand = (c: string): number[] => {
      let ids = this.#candidates.get(c);
      if (ids === undefined) this.#candidates.set(c, (ids = tok.encode(c, false)));
      return ids;
    };
    const specials = promptSpecials(this.tokenization);
    return { prompts: req.prompts.map((p) => tok.encode(p, specials)), candidates: req.candidates.map((cs) => cs.map(cand)) };
  }

  async score(req: ScoreBatch): Promise<CandidateScores> {
    const ids = this.tokenize(req);
    return { ...(await this.policy.scoreTokens(ids)), ids };
  }
}
