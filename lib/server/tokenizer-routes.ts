// vLLM's tokenizer endpoints and the model list, in vLLM's shapes:
// POST /tokenize {prompt, add_special_tokens?} → {tokens, count, max_model_len};
// POST /detokenize {tokens} → {prompt}; GET /tokenizer_info → the tokenizer's config (tokenizer_config.json
// with eos/bos tokens) plus vocab_size and model_max_length; GET /v1/models → the served model.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { GlamError } from '../errors.js';
import type { ServerContext } from './context.js';

const tokenizeSchema = {
  body: {
    type: 'object', required: ['prompt'],
    properties: { prompt: { type: 'string' }, add_special_tokens: { type: 'boolean' }, model: { type: 'string' } },
  },
} as const;
const detokenizeSchema = {
  body: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: { type: 'integer' } }, model: { type: 'string' } } },
} as const;

export function registerTokenizerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { policy } = ctx;
  const created = Math.floor(Date.now() / 1000);
  app.post<{ Body: { prompt: string; add_special_tokens?: boolean } }>('/tokenize', { schema: tokenizeSchema }, async (req) => {
    const tokens = policy.tokenizer.encode(req.body.prompt, req.body.add_special_tokens ?? true);
    return { tokens, count: tokens.length, max_model_len: policy.config.maxPositions };
  });
  app.post<{ Body: { tokens: number[] } }>('/detokenize', { schema: detokenizeSchema }, async (req) => {
    const bad = req.body.tokens.find((id) => id < 0 || id >= policy.config.vocabSize);
    if (bad !== undefined) throw new GlamError('TokenOutOfRange', `token id ${bad} is outside this model's vocabulary of ${policy.config.vocabSize}`);
    return { prompt: policy.tokenizer.decode(req.body.tokens) };
  });
  const info = tokenizerInfo(ctx);
  app.get('/tokenizer_info', async () => info);
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: ctx.opts.modelName, object: 'model', created, owned_by: 'glam', root: policy.dir, parent: null, max_model_len: policy.config.maxPositions }],
  }));
}

function tokenizerInfo(ctx: ServerContext): Record<string, unknown> {
  const file = join(ctx.policy.dir, 'tokenizer_config.json');
  let cfg: Record<string, unknown> = {};
  try {
    if (existsSync(file)) cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    cfg = {}; // the tokenizer itself loaded; a config that no longer parses only loses these fields
  }
  delete cfg.added_tokens_decoder; // large and internal
  const { config, tokenizer } = ctx.policy;
  const name = (id: number | null) => (id === null ? null : tokenizer.decode([id]));
  return {
    tokenizer_class: cfg.tokenizer_class ?? null, ...cfg,
    bos_token: cfg.bos_token ?? name(config.bosTokenId), eos_token: cfg.eos_token ?? name(config.eosTokenId),
    bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId,
    vocab_size: config.vocabSize, model_max_length: config.maxPositions,
  };
}
