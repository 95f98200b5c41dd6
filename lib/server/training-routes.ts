// The training surface over HTTP (only with --allow-training, which requires an API key): a remote
// trainer (PPO in Python, as Lamorel's `update`) computes its loss itself and uses glam as its LLM:
//   POST /v1/train/forward {prompts, candidates, options?} → log-probs, values and a handle;
//   POST /v1/train/backward {handle, d_logprobs, d_values} accumulates gradients;
//   POST /v1/train/step {lr, betas?, eps?, weight_decay?, max_grad_norm?} → the norm before clipping;
//   POST /v1/train/zero_grad; POST /v1/train/save {dir} writes a checkpoint under --train-root.
// Subtle: every call goes through the Policy's queue, so training and scoring share the one engine in
// order. A handle holds activation memory until its backward: at most MAX_HANDLES are open; past
// that the oldest is released by a zero-gradient backward (adds nothing) and its later use is a 400.
// A step changes the weights in the engine's queue, so no score (top-N included) sees half of it.
// save's target is checked by save-target.ts (confined to the root; mistakes the user can fix are 4xx).
import { randomUUID } from 'node:crypto';
import { relative } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { tokenizeBatch, TOKENIZATIONS, type Tokenization } from '../policy/batch.js';
import type { TrainHandle } from '../policy/training.js';
import type { ServerContext } from './context.js';
import { ServerError } from './http-error.js';
import { saveFailure, saveTarget } from './save-target.js';

export const MAX_HANDLES = 16;

const num = { type: 'number' } as const;
const schemas = {
  forward: {
    body: {
      type: 'object', required: ['prompts', 'candidates'], additionalProperties: false,
      properties: {
        prompts: { type: 'array', minItems: 1, items: { type: 'string' } },
        candidates: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        options: { type: 'object', additionalProperties: false, properties: { tokenization: { enum: [...TOKENIZATIONS] } } },
      },
    },
  },
  backward: {
    body: {
      type: 'object', required: ['handle', 'd_logprobs', 'd_values'], additionalProperties: false,
      properties: {
        handle: { type: 'string' },
        d_logprobs: { type: 'array', items: { anyOf: [num, { type: 'array', items: num }] } },
        d_values: { type: 'array', items: num },
      },
    },
  },
  step: {
    body: {
      type: 'object', required: ['lr'], additionalProperties: false,
      properties: {
        lr: { type: 'number', minimum: 0 }, betas: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number', minimum: 0, exclusiveMaximum: 1 } },
        eps: { type: 'number', exclusiveMinimum: 0 }, weight_decay: { type: 'number', minimum: 0 }, max_grad_norm: { type: 'number', minimum: 0 },
      },
    },
  },
  save: { body: { type: 'object', required: ['dir'], additionalProperties: false, properties: { dir: { type: 'string', minLength: 1 } } } },
} as const;

export function registerTrainingRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { policy } = ctx;
  const handles = new Map<string, TrainHandle>(); // insertion order: the oldest first
  const evicted = new Set<string>();
  const root = ctx.opts.trainRoot!;

  app.post<{ Body: { prompts: string[]; candidates: string[][]; options?: { tokenization?: Tokenization } } }>(
    '/v1/train/forward', { schema: schemas.forward }, async (req) => {
      while (handles.size >= MAX_HANDLES) { // a client that never calls backward must not pin activation memory forever
        const [oldId, old] = handles.entries().next().value!;
        handles.delete(oldId);
        evicted.add(oldId);
        req.log.warn({ handle: oldId }, `more than ${MAX_HANDLES} open forward handles: the oldest is released (a zero-gradient backward)`);
        await policy.backward(old, new Float32Array(old.candidates), new Float32Array(old.prompts));
      }
      const { prompts, candidates, options = {} } = req.body;
      const t = tokenizeBatch(policy.tokenizer, prompts, candidates, options.tokenization ?? 'separate');
      const f = await policy.forward({ tokens: t }, { grad: true });
      const id = `h-${randomUUID()}`;
      handles.set(id, f.handle);
      const results = prompts.map((_, b) => {
        const s = f.candOffset[b]!;
        return {
          value: f.values[b]!,
          candidates: candidates[b]!.map((text, k) => ({ text, logprob: f.logprobs[s + k]!, prob: f.probs[s + k]!, tokens: f.tokens[s + k]! })),
        };
      });
      return { object: 'train.forward', handle: id, value_head_trained: policy.valueHeadTrained, results };
    });

  app.post<{ Body: { handle: string; d_logprobs: (number | number[])[]; d_values: number[] } }>(
    '/v1/train/backward', { schema: schemas.backward }, async (req) => {
      const h = handles.get(req.body.handle);
      if (!h && evicted.has(req.body.handle)) {
        throw new ServerError('RequestInvalid', 400, `handle '${req.body.handle}' was released: more than ${MAX_HANDLES} forwards were open at once; call backward before the next forwards`);
      }
      if (!h) throw new ServerError('RequestInvalid', 400, `unknown or used handle '${req.body.handle}': each /v1/train/forward handle serves one backward`);
      try {
        await policy.backward(h, req.body.d_logprobs.flat(), req.body.d_values);
      } finally {
        if (h.used) handles.delete(req.body.handle); // gradients of the wrong shape leave the handle usable
      }
      return { object: 'train.backward', ok: true };
    });

  app.post<{ Body: { lr: number; betas?: [number, number]; eps?: number; weight_decay?: number; max_grad_norm?: number } }>(
    '/v1/train/step', { schema: schemas.step }, async (req) => {
      const b = req.body;
      const norm = await policy.step({ lr: b.lr, betas: b.betas, eps: b.eps, weightDecay: b.weight_decay, maxGradNorm: b.max_grad_norm });
      return { object: 'train.step', grad_norm: norm, step: policy.trainingInfo().step ?? null, value_head_trained: policy.valueHeadTrained };
    });

  app.post('/v1/train/zero_grad', async () => {
    await policy.zeroGrad();
    return { object: 'train.zero_grad', ok: true };
  });

  app.post<{ Body: { dir: string } }>('/v1/train/save', { schema: schemas.save }, async (req) => {
    const dir = saveTarget(root, req.body.dir);
    try {
      await policy.save(dir);
    } catch (e) {
      throw saveFailure(e, req.body.dir);
    }
    return { object: 'train.save', dir: relative(root, dir) };
  });
}
