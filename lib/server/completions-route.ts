// POST /v1/completions: the OpenAI/vLLM completions contract, for scoring. `prompt` is a string, a
// list of strings, a list of token ids or a list of such lists (one choice per prompt, in order);
// `echo` returns the prompt's tokens with their log-probs, `logprobs` N (0..20) the top-N
// alternatives per position, `max_tokens` 0 scores only, 1 also returns the greedy next token.
// Generation (max_tokens > 1, absent = OpenAI's default 16, n > 1, stream) is a 400
// GenerationNotServed. `model`, `temperature`, `seed` and the other sampling fields are accepted and
// do not change the numbers (the next token is greedy).
// Encoder-decoder models (T5) as vLLM treats them: the prompt is the encoder's input and the decoder
// starts from [decoder_start], so max_tokens 1 returns the decoder's first greedy token, its log-prob
// and top-N alternatives (text_offset counts from the completion's own text, which does not continue
// the prompt's). The prompt's tokens have no log-probs there (nothing predicts the encoder's input):
// echo is a 422 EchoNotServed that says to score candidates with POST /v1/score instead. vLLM
// (RequestOutput.prompt_token_ids / encoder_prompt_token_ids) would echo the decoder's own prompt,
// the lone [decoder_start], which is no score of the prompt.
// Subtle: token-id prompts are used as given (add_special_tokens applies to text prompts only, as in
// vLLM; for T5 it is the </s> the tokenizer appends, false = Lamorel's tokenization); ids outside the
// vocabulary are 422 TokenOutOfRange, prompts over the context 422.
import { randomUUID } from 'node:crypto';

import type { FastifyInstance } from 'fastify';

import { GlamError } from '../errors.js';
import type { ServerContext } from './context.js';
import { ServerError } from './http-error.js';
import { scoreChoices, type ChoiceRequest } from './prompt-logprobs.js';

const ids = { type: 'array', minItems: 1, items: { type: 'integer' } } as const;
const completionsSchema = {
  body: {
    type: 'object', required: ['prompt'],
    properties: {
      model: { type: 'string' },
      prompt: {
        anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }, ids, { type: 'array', minItems: 1, items: ids }],
      },
      echo: { type: ['boolean', 'null'] },
      logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
      max_tokens: { type: ['integer', 'null'], minimum: 0 },
      add_special_tokens: { type: 'boolean' },
      temperature: { type: ['number', 'null'] },
      seed: { type: ['integer', 'null'] },
      n: { type: ['integer', 'null'], minimum: 1 },
      stream: { type: ['boolean', 'null'] },
    },
  },
} as const;

interface CompletionsBody {
  model?: string;
  prompt: string | string[] | number[] | number[][];
  echo?: boolean | null;
  logprobs?: number | null;
  max_tokens?: number | null;
  add_special_tokens?: boolean;
  n?: number | null;
  stream?: boolean | null;
}

export function registerCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: CompletionsBody }>('/v1/completions', { schema: completionsSchema }, async (req) => {
    const b = req.body;
    const maxTokens = b.max_tokens ?? 16;
    if (maxTokens > 1 || (b.n ?? 1) > 1 || b.stream === true) {
      throw new ServerError('GenerationNotServed', 400,
        `this server scores prompts and does not generate text (max_tokens ${maxTokens}${b.n && b.n > 1 ? `, n ${b.n}` : ''}${b.stream ? ', stream' : ''}): pass max_tokens 0 with echo to score the prompt, or 1 for the greedy next token too; n 1; no stream`);
    }
    const encoderDecoder = ctx.policy.config.family === 't5';
    if (encoderDecoder && b.echo === true) {
      throw new ServerError('EchoNotServed', 422,
        'echo scores the prompt\'s own tokens, but this is an encoder-decoder model (T5): the prompt is the encoder\'s input and has no log-probs. ' +
          'Score candidate continuations with POST /v1/score (each candidate is the decoder\'s), or drop echo and pass max_tokens 1 (with logprobs N) for the decoder\'s first token and its alternatives');
    }
    const tok = ctx.policy.tokenizer;
    const { maxPositions } = ctx.policy.config;
    const prompts = normalize(b.prompt);
    const texts: string[] = [];
    const reqs: ChoiceRequest[] = prompts.map((p, i) => {
      const tokenIds = typeof p === 'string' ? (p.length > 0 ? tok.encode(p, b.add_special_tokens ?? true) : []) : p;
      if (tokenIds.length === 0) throw new GlamError('EmptyPrompt', `prompt ${i} is empty (or tokenizes to no tokens); every prompt needs text or token ids`);
      const limit = maxPositions - maxTokens;
      if (tokenIds.length > limit) {
        throw new GlamError('SequenceTooLong', `prompt ${i} is ${tokenIds.length} tokens but this model's context holds ${maxPositions}${maxTokens ? ' with one generated token' : ''}: at most ${limit}; shorten the prompt`);
      }
      for (const id of tokenIds) {
        if (!Number.isInteger(id) || id < 0 || id >= ctx.policy.config.vocabSize) {
          throw new GlamError('TokenOutOfRange', `prompt ${i} has token id ${id}, outside this model's vocabulary of ${ctx.policy.config.vocabSize}; use ids from POST /tokenize`);
        }
      }
      texts.push(typeof p === 'string' ? p : tok.decode(tokenIds, true));
      return { ids: tokenIds, echo: b.echo ?? false, logprobs: b.logprobs ?? null, maxTokens: maxTokens as 0 | 1, encoderDecoder };
    });
    const choices = await scoreChoices(reqs, texts, ctx.batcher, tok);
    const promptTokens = reqs.reduce((s, r) => s + r.ids.length, 0);
    const completionTokens = choices.reduce((s, c) => s + c.completionIds.length, 0);
    return {
      id: `cmpl-${randomUUID().replace(/-/g, '')}`, object: 'text_completion', created: Math.floor(Date.now() / 1000),
      model: b.model ?? ctx.opts.modelName,
      choices: choices.map((c, index) => ({ index, text: c.text, logprobs: c.logprobs, finish_reason: 'length', stop_reason: null })),
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  });
}

function normalize(p: CompletionsBody['prompt']): (string | number[])[] {
  if (typeof p === 'string') return [p];
  if (p.every((x) => typeof x === 'number')) return [p as number[]];
  return p as (string | number[])[];
}
