// POST /v1/completions for scoring, in OpenAI's shape, against Policy.score in-process: with echo the
// prompt's token log-probs are the candidate token log-probs Policy.score gives for the same split;
// top_logprobs holds the N best (from the full distribution) plus the actual token; max_tokens 1 adds
// the greedy next token; one choice per prompt in order (strings, token ids, lists of either); typed
// errors: generation (400 GenerationNotServed), logprobs > 20, ids outside the vocabulary, the context;
// top-N at every position of a full-context prompt costs one pass of P + 1 tokens.
import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { post, serve, type Served } from './harness.js';

let policy: Policy;
let s: Served;
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
  s = await serve(policy);
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

const A = 'Goal of the agent: go to the red ball\nAction 0: ';
const B = 'go forward';

test('echo token_logprobs equal Policy.score of the same prompt/candidate split; OpenAI shape', async () => {
  const a = policy.tokenizer.encode(A, true), b = policy.tokenizer.encode(B, false);
  const r = await post(`${s.url}/v1/completions`, { model: 'glam-builtin', prompt: [...a, ...b], echo: true, logprobs: 0, max_tokens: 0 });
  expect(r.status).toBe(200);
  expect(Object.keys(r.body).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'usage']);
  expect(r.body.object).toBe('text_completion');
  const c = r.body.choices[0];
  expect(c.index).toBe(0);
  expect(Object.keys(c.logprobs).sort()).toEqual(['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
  const lp = c.logprobs.token_logprobs as (number | null)[];
  expect(lp.length).toBe(a.length + b.length);
  expect(lp[0]).toBeNull();
  expect(c.logprobs.top_logprobs[0]).toBeNull();
  const ref = await policy.score({ prompts: [A], candidates: [[B]] });
  lp.slice(a.length).forEach((x, i) => expect(x).toBeCloseTo(ref.tokenLogprobs[i]!, 5));
  expect(lp.slice(a.length).reduce((t, x) => t! + x!, 0)).toBeCloseTo(ref.logprobs[0]!, 4);
  expect(c.text).toBe(A + B);
  expect(c.logprobs.text_offset[a.length]).toBe(A.length);
  expect(r.body.usage).toEqual({ prompt_tokens: a.length + b.length, completion_tokens: 0, total_tokens: a.length + b.length });
});

test('top_logprobs: the N best of the full distribution plus the actual token, which agrees with token_logprobs', async () => {
  const N = 5;
  const r = await post(`${s.url}/v1/completions`, { prompt: A, echo: true, logprobs: N, max_tokens: 0 });
  expect(r.status).toBe(200);
  const { tokens, token_logprobs: lps, top_logprobs: tops } = r.body.choices[0].logprobs;
  const ids = policy.tokenizer.encode(A, true);
  const all = Array.from({ length: policy.config.vocabSize }, (_, v) => [v]);
  for (let t = 1; t < ids.length; ++t) {
    const map = tops[t] as Record<string, number>;
    expect(Object.keys(map).length).toBeGreaterThanOrEqual(N - 1); // distinct ids may share a text piece
    expect(Object.keys(map).length).toBeLessThanOrEqual(N + 1);
    expect(map[tokens[t]]).toBe(lps[t]);
    if (t % 7 === 1) { // against the engine scoring every vocabulary token after this prefix
      const ref = await policy.scoreTokens({ prompts: [ids.slice(0, t)], candidates: [all] });
      const best = Array.from(ref.logprobs).sort((x, y) => y - x);
      const vals = Object.entries(map).filter(([k]) => k !== tokens[t]).map(([, v]) => v).sort((x, y) => y - x);
      vals.forEach((v) => expect(best.slice(0, N).some((x) => Math.abs(x - v) < 1e-5)).toBe(true));
      expect(lps[t]).toBeCloseTo(ref.logprobs[ids[t]!]!, 4);
      const argmax = ref.logprobs.indexOf(best[0]!);
      if (argmax === ids[t]) expect(map[tokens[t]]).toBeCloseTo(best[0]!, 4);
    }
  }
});

test('max_tokens 1 returns the greedy next token with its log-prob; no echo returns only it', async () => {
  const r = await post(`${s.url}/v1/completions`, { prompt: [A, 'open the door'], echo: false, logprobs: 3, max_tokens: 1, temperature: 0.7, seed: 3 });
  expect(r.status).toBe(200);
  expect(r.body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
  const ids = policy.tokenizer.encode(A, true);
  const all = Array.from({ length: policy.config.vocabSize }, (_, v) => [v]);
  const ref = await policy.scoreTokens({ prompts: [ids], candidates: [all] });
  const g = ref.logprobs.indexOf(Math.max(...ref.logprobs));
  const c = r.body.choices[0];
  expect(c.text).toBe(policy.tokenizer.decode([g], true));
  expect(c.logprobs.tokens).toEqual([policy.tokenizer.decode([g])]);
  expect(c.logprobs.token_logprobs[0]).toBeCloseTo(ref.logprobs[g]!, 4);
  expect(c.logprobs.text_offset).toEqual([A.length]);
  expect(r.body.usage.completion_tokens).toBe(2);
});

test('token-id prompts and lists of them: one choice per prompt, in order, same numbers as text', async () => {
  const texts = ['go to the red ball', 'pick up the key', 'open the door'];
  const idLists = texts.map((t) => policy.tokenizer.encode(t, true));
  const byText = await post(`${s.url}/v1/completions`, { prompt: texts, echo: true, logprobs: 1, max_tokens: 0 });
  const byIds = await post(`${s.url}/v1/completions`, { prompt: idLists, echo: true, logprobs: 1, max_tokens: 0 });
  expect(byIds.status).toBe(200);
  expect(byIds.body.choices.length).toBe(3);
  byIds.body.choices.forEach((c: { text: string; logprobs: { token_logprobs: number[] } }, i: number) => {
    expect(c.text).toBe(texts[i]);
    expect(c.logprobs.token_logprobs).toEqual(byText.body.choices[i].logprobs.token_logprobs);
  });
  const noLp = await post(`${s.url}/v1/completions`, { prompt: texts[0], echo: true, max_tokens: 0 });
  expect(noLp.body.choices[0]).toMatchObject({ text: texts[0], logprobs: null, finish_reason: 'length' });
});

test('generation, bad logprobs, ids outside the vocabulary and the context are typed errors', async () => {
  const V = policy.config.vocabSize;
  const cases: [unknown, number, string][] = [
    [{ prompt: 'a', echo: true, logprobs: 1 }, 400, 'GenerationNotServed'], // OpenAI's default max_tokens is 16
    [{ prompt: 'a', max_tokens: 2 }, 400, 'GenerationNotServed'],
    [{ prompt: 'a', max_tokens: 0, stream: true }, 400, 'GenerationNotServed'],
    [{ prompt: 'a', max_tokens: 0, n: 2 }, 400, 'GenerationNotServed'],
    [{ prompt: 'a', max_tokens: 0, logprobs: 21 }, 400, 'RequestInvalid'],
    [{ prompt: 'a', max_tokens: -1 }, 400, 'RequestInvalid'],
    [{ prompt: ['a', [1, 2]], max_tokens: 0 }, 400, 'RequestInvalid'],
    [{ prompt: [], max_tokens: 0 }, 400, 'RequestInvalid'],
    [{ prompt: '', max_tokens: 0 }, 400, 'EmptyPrompt'],
    [{ prompt: [1, V], max_tokens: 0, echo: true, logprobs: 0 }, 422, 'TokenOutOfRange'],
    [{ prompt: [[1, -3]], max_tokens: 0 }, 422, 'TokenOutOfRange'],
    [{ prompt: [1e300], max_tokens: 0 }, 422, 'TokenOutOfRange'],
    [{ prompt: new Array(policy.config.maxPositions + 1).fill(1), max_tokens: 0 }, 422, 'SequenceTooLong'],
    [{ prompt: new Array(policy.config.maxPositions).fill(1), max_tokens: 1 }, 422, 'SequenceTooLong'],
  ];
  for (const [body, status, code] of cases) {
    const r = await post(`${s.url}/v1/completions`, body);
    expect([r.status, r.body.error?.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
  }
});

test('top-N at every position of a prompt that fills the context is one pass, not one per prefix', async () => {
  const P = policy.config.maxPositions - 1;
  const ids = Array.from({ length: P }, (_, i) => 1 + ((i * 37) % (policy.config.vocabSize - 1)));
  const before = (await fetch(`${s.url}/metrics`).then((r) => r.text())).match(/glam_batch_tokens_sum (\S+)/)?.[1];
  const r = await post(`${s.url}/v1/completions`, { prompt: ids, echo: true, logprobs: 20, max_tokens: 1 });
  expect(r.status).toBe(200);
  const lp = r.body.choices[0].logprobs;
  expect(lp.top_logprobs).toHaveLength(P + 1);
  expect(lp.top_logprobs.slice(1).every((m: Record<string, number> | null) => m !== null && Object.keys(m).length >= 1)).toBe(true);
  const after = (await fetch(`${s.url}/metrics`).then((r) => r.text())).match(/glam_batch_tokens_sum (\S+)/)?.[1];
  expect(Number(after) - Number(before)).toBe(P + 1); // the prompt and one placeholder, once
});
