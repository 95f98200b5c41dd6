// POST /v1/score: GLAM's candidate scoring over HTTP, the numbers of Policy.score (same tokenization,
// same fused pass) through the batcher. Body {prompts, candidates?, options?: {mode, tokenization,
// token_logprobs}} → per prompt each candidate's log-prob, probability (softmax over the prompt's
// candidates), token count, optional per-token log-probs, and the value, with value_head_trained.
// `tokenization` 'lamorel' encodes prompts without special tokens, as Lamorel did (no T5 </s>).
// Without `candidates` it returns the values only (the engine scores a one-token placeholder candidate
// that the response leaves out: the value reads the prompt's last token, not the candidates).
import type { FastifyInstance } from 'fastify';

import { GlamError } from '../errors.js';
import { promptSpecials, tokenizeBatch, TOKENIZATIONS, type Tokenization } from '../policy/batch.js';
import type { ScoreItem } from './batcher.js';
import type { ServerContext } from './context.js';

const scoreSchema = {
  body: {
    type: 'object', required: ['prompts'], additionalProperties: false,
    properties: {
      prompts: { type: 'array', minItems: 1, items: { type: 'string' } },
      candidates: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
      options: {
        type: 'object', additionalProperties: false,
        properties: { mode: { enum: ['fused', 'naive'] }, tokenization: { enum: [...TOKENIZATIONS] }, token_logprobs: { type: 'boolean' } },
      },
      model: { type: 'string' },
    },
  },
} as const;

interface ScoreBody {
  prompts: string[];
  candidates?: string[][];
  options?: { mode?: 'fused' | 'naive'; tokenization?: Tokenization; token_logprobs?: boolean };
}

export function registerScoreRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ScoreBody }>('/v1/score', { schema: scoreSchema }, async (req) => {
    const { prompts, candidates, options = {} } = req.body;
    const tok = ctx.policy.tokenizer;
    let items: ScoreItem[];
    if (candidates) {
      const t = tokenizeBatch(tok, prompts, candidates, options.tokenization ?? 'separate');
      items = t.prompts.map((prompt, b) => ({ prompt, candidates: t.candidates[b]! }));
    } else {
      items = prompts.map((p, b) => {
        const ids = p.length > 0 ? tok.encode(p, promptSpecials(options.tokenization ?? 'separate')) : [];
        if (ids.length === 0) throw new GlamError('EmptyPrompt', `prompt ${b} is empty; every prompt needs text`);
        return { prompt: ids, candidates: [[ids[ids.length - 1]!]] };
      });
    }
    const res = await ctx.batcher.submit(items, { mode: options.mode ?? 'fused' });
    let promptTokens = 0, candidateTokens = 0;
    const results = res.map((r, b) => {
      promptTokens += items[b]!.prompt.length;
      if (!candidates) return { value: r.value };
      candidateTokens += r.tokens.reduce((s, n) => s + n, 0);
      return {
        value: r.value,
        candidates: candidates[b]!.map((text, k) => ({
          text, logprob: r.logprobs[k]!, prob: r.probs[k]!, tokens: r.tokens[k]!,
          ...(options.token_logprobs ? { token_logprobs: r.tokenLogprobs[k]! } : {}),
        })),
      };
    });
    return {
      object: 'score', model: ctx.opts.modelName, value_head_trained: ctx.policy.valueHeadTrained, results,
      usage: { prompt_tokens: promptTokens, candidate_tokens: candidateTokens, total_tokens: promptTokens + candidateTokens },
    };
  });
}
