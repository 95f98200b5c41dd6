// Baselines evaluable by the same code as a trained policy (evaluate / LlmAgent / the generalization
// suite): the random policy (uniform over the candidates) and the untrained, zero-shot model; plus
// loadEvalPolicy, which turns `glam eval --policy` (a directory, 'random' or 'zero-shot') into one.
//
// Subtle:
// - evaluate() and LlmAgent take any Scorer (lib/agent/scorer.ts, a structural type a Policy
//   satisfies), so a baseline is passed to them as it is.
// - The random policy's log-probs are all −log K, so the candidate softmax is exactly uniform and the
//   agent's sampling draws each candidate with probability 1/K from the evaluation's own seeded
//   stream; greedy (argmax) is meaningless for it (always the first candidate), so it is refused.
// - A loaded policy scores through policyScorer, with the tokenization it was trained with
//   (glam eval reads it from the run's config.json; default glam's own rule, 'separate').
// - "zero-shot" is the model as loaded, before any training: the built-in model unless a model
//   directory is given; its value head (freshly initialised) plays no part in evaluation.
import { existsSync } from 'node:fs';

import { GlamError } from '../errors.js';
import { defaultModelDir } from '../policy/default-model.js';
import type { Tokenization } from '../policy/batch.js';
import { Policy } from '../policy/policy.js';
import type { ScoreRequest, ScoreResult } from '../policy/score-result.js';
import type { ScoreBatch, Scorer } from './scorer.js';

export type { Scorer } from './scorer.js';

/** The random policy: uniform over each prompt's candidates. */
export class RandomPolicy implements Scorer {
  async score(req: ScoreRequest): Promise<ScoreResult> {
    const B = req.prompts.length;
    if (req.candidates.length !== B) {
      throw new GlamError('InvalidArgument', `Expected one candidate list per prompt (${B}) but received ${req.candidates.length}`);
    }
    const candOffset = new Int32Array(B + 1);
    for (let b = 0; b < B; b++) {
      const K = req.candidates[b]!.length;
      if (K === 0) throw new GlamError('EmptyCandidates', `prompt ${b} has no candidates`);
      candOffset[b + 1] = candOffset[b]! + K;
    }
    const N = candOffset[B]!;
    const logprobs = new Float32Array(N);
    const probs = new Float32Array(N);
    for (let b = 0; b < B; b++) {
      const K = candOffset[b + 1]! - candOffset[b]!;
      logprobs.fill(-Math.log(K), candOffset[b], candOffset[b + 1]);
      probs.fill(1 / K, candOffset[b], candOffset[b + 1]);
    }
    return {
      candOffset, logprobs, probs, tokens: new Int32Array(N), tokenOffset: new Int32Array(N + 1), tokenLogprobs: new Float32Array(0), values: new Float32Array(B),
    };
  }
}

/** A Policy as a Scorer that tokenizes every batch by `tokenization` (lib/policy/batch.ts): what evaluation scores with. */
export function policyScorer(policy: Policy, tokenization: Tokenization): Scorer {
  return { score: (req: ScoreBatch) => policy.score({ prompts: req.prompts, candidates: req.candidates, tokenization }) };
}

/** A policy to evaluate, whatever its kind. */
export interface EvalPolicy {
  readonly kind: 'policy' | 'zero-shot' | 'random';
  /** What to print: "random (uniform over candidates)", "zero-shot <dir>", or the directory. */
  readonly description: string;
  readonly scorer: Scorer;
  /** The loaded Policy (not for 'random'). */
  readonly policy?: Policy;
  dispose(): Promise<void>;
}

/**
 * `--policy SPEC`: 'random'; 'zero-shot' (the untrained `model`, default the built-in one); or a
 * directory Policy.load reads (a checkpoint, a run's final/, any Hugging Face model directory).
 */
export async function loadEvalPolicy(spec: string, o: { model?: string; threads?: number; tokenization?: Tokenization } = {}): Promise<EvalPolicy> {
  const tokenization = o.tokenization ?? 'separate';
  if (spec === 'random') {
    return { kind: 'random', description: 'random (uniform over candidates)', scorer: new RandomPolicy(), dispose: async () => {} };
  }
  if (spec === 'zero-shot') {
    const dir = o.model ?? (await defaultModelDir());
    const policy = await Policy.load(dir, { threads: o.threads });
    return { kind: 'zero-shot', description: `zero-shot (untrained) ${dir}`, scorer: policyScorer(policy, tokenization), policy, dispose: () => policy.dispose() };
  }
  if (!existsSync(spec)) {
    throw new GlamError('ConfigMissing', `Expected a policy directory, 'random' or 'zero-shot' for --policy but ${JSON.stringify(spec)} does not exist`);
  }
  const policy = await Policy.load(spec, { threads: o.threads });
  return { kind: 'policy', description: spec, scorer: policyScorer(policy, tokenization), policy, dispose: () => policy.dispose() };
}
