// `glam serve` with a T5 model: POST /v1/score gives Policy.score's numbers (the encoder-decoder
// scoring; tokenization 'lamorel' as transformers' recorded Lamorel values); /v1/completions treats the prompt as the encoder's input, as vLLM does for
// encoder-decoder models: max_tokens 1 returns the decoder's first greedy token with its log-prob and
// top-N alternatives, checked against transformers' float64 first-step distribution
// (scripts/fixtures/make_t5.py's first_step.json); echo (the prompt's own log-probs, which an encoder
// input does not have) is a typed 422.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { post, serve, type Served } from './harness.js';

const dir = join(__dirname, '..', 'fixtures', 'models', 't5-v1_1');
interface Row { id: string; tokenization: 'separate' | 'lamorel'; prompt_ids: number[]; top_ids: number[]; top_logprobs: number[]; logprobs: number[] }
const firstStep = (JSON.parse(readFileSync(join(dir, 'first_step.json'), 'utf8')) as { rows: Row[] }).rows;
const recorded = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { prompts: { id: string; prompt: string }[] }).prompts;
const row = (id: string, t: Row['tokenization']) => firstStep.find((r) => r.id === id && r.tokenization === t)!;

let policy: Policy;
let s: Served;
beforeAll(async () => {
  policy = await Policy.load(dir, { threads: 1 });
  s = await serve(policy, { modelName: 't5-v1_1' });
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

const prompts = ['Goal of the agent: go to the red ball. You see a red ball 2 steps forward', 'Goal of the agent: open the door'];
const candidates = [['turn left', 'turn right', 'go forward'], ['toggle', 'go forward']];

test('/v1/score equals Policy.score in-process', async () => {
  const r = await post(`${s.url}/v1/score`, { prompts, candidates });
  expect(r.status).toBe(200);
  const ref = await policy.score({ prompts, candidates });
  const got = (r.body.results as { candidates: { logprob: number }[] }[]).flatMap((x) => x.candidates.map((c) => c.logprob));
  expect(got.length).toBe(ref.logprobs.length);
  got.forEach((lp, k) => expect(lp).toBeCloseTo(ref.logprobs[k]!, 5));
});

test("/v1/score with tokenization 'lamorel' (no </s>) and the default give transformers' recorded log-probs; values follow the encoder input", async () => {
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as
    { prompts: { prompt: string; candidates: { text: string; logprob: number; logprob_lamorel: number }[] }[] };
  const ps = exp.prompts.slice(0, 2);
  for (const [tokenization, key] of [['lamorel', 'logprob_lamorel'], [undefined, 'logprob']] as const) {
    const r = await post(`${s.url}/v1/score`, { prompts: ps.map((p) => p.prompt), candidates: ps.map((p) => p.candidates.map((c) => c.text)),
      ...(tokenization ? { options: { tokenization } } : {}) });
    expect(r.status).toBe(200);
    (r.body.results as { candidates: { logprob: number }[] }[]).forEach((res, b) =>
      res.candidates.forEach((c, k) => expect(Math.abs(c.logprob - ps[b]!.candidates[k]![key])).toBeLessThan(1e-4)));
    const values = await post(`${s.url}/v1/score`, { prompts: ps.map((p) => p.prompt), ...(tokenization ? { options: { tokenization } } : {}) });
    const ref = await policy.score({ prompts: ps.map((p) => p.prompt), candidates: ps.map(() => ['go forward']), tokenization: tokenization ?? 'separate' });
    (values.body.results as { value: number }[]).forEach((v, b) => expect(v.value).toBeCloseTo(ref.values[b]!, 5));
  }
});

interface Choice { index: number; text: string; logprobs: { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[]; text_offset: number[] } }

/** The choice is the decoder's first greedy token and its top-N over transformers' float64 first step. */
function expectFirstStep(c: Choice, ref: Row, n: number): void {
  const piece = (id: number) => policy.tokenizer.decode([id]);
  expect(c.text).toBe(policy.tokenizer.decode([ref.top_ids[0]!], true));
  expect(c.logprobs.tokens).toEqual([piece(ref.top_ids[0]!)]);
  expect(Math.abs(c.logprobs.token_logprobs[0]! - ref.top_logprobs[0]!)).toBeLessThan(1e-4);
  expect(c.logprobs.text_offset).toEqual([0]); // the decoder's text stands alone: it does not continue the prompt's
  const top = c.logprobs.top_logprobs[0]!;
  const want = new Map<string, number>();
  for (let j = 0; j < n; ++j) if (!want.has(piece(ref.top_ids[j]!))) want.set(piece(ref.top_ids[j]!), ref.top_logprobs[j]!);
  expect(new Set(Object.keys(top))).toEqual(new Set(want.keys()));
  for (const [text, lp] of want) expect(Math.abs(top[text]! - lp), text).toBeLessThan(1e-4);
}

test('max_tokens 1: the decoder\'s first greedy token, its log-prob and top-N equal transformers (float64)', async () => {
  const p = recorded[0]!;
  const r = await post(`${s.url}/v1/completions`, { model: 't5-v1_1', prompt: p.prompt, max_tokens: 1, logprobs: 5 });
  expect(r.status).toBe(200);
  expect(r.body.object).toBe('text_completion');
  expect(r.body.choices.length).toBe(1);
  expectFirstStep(r.body.choices[0], row(p.id, 'separate'), 5);
  expect(r.body.usage).toEqual({ prompt_tokens: row(p.id, 'separate').prompt_ids.length, completion_tokens: 1, total_tokens: row(p.id, 'separate').prompt_ids.length + 1 });
});

test('add_special_tokens false is Lamorel\'s encoder input (no </s>); token-id prompts are used as given; one choice per prompt', async () => {
  const [a, b] = [recorded[1]!, recorded[2]!];
  const lam = await post(`${s.url}/v1/completions`, { prompt: [a.prompt, b.prompt], max_tokens: 1, logprobs: 20, add_special_tokens: false });
  expect(lam.status).toBe(200);
  expectFirstStep(lam.body.choices[0], row(a.id, 'lamorel'), 20);
  expectFirstStep(lam.body.choices[1], row(b.id, 'lamorel'), 20);
  expect(lam.body.choices.map((c: Choice) => c.index)).toEqual([0, 1]);
  const ids = await post(`${s.url}/v1/completions`, { prompt: [row(a.id, 'separate').prompt_ids], max_tokens: 1, logprobs: 3 });
  expect(ids.status).toBe(200);
  expectFirstStep(ids.body.choices[0], row(a.id, 'separate'), 3);
});

test('without logprobs: just the greedy token; max_tokens 0 without echo: nothing to compute', async () => {
  const p = recorded[3]!;
  const one = await post(`${s.url}/v1/completions`, { prompt: p.prompt, max_tokens: 1 });
  expect(one.status).toBe(200);
  expect(one.body.choices[0].text).toBe(policy.tokenizer.decode([row(p.id, 'separate').top_ids[0]!], true));
  expect(one.body.choices[0].logprobs).toBeNull();
  const zero = await post(`${s.url}/v1/completions`, { prompt: p.prompt, max_tokens: 0, logprobs: 2 });
  expect(zero.status).toBe(200);
  expect(zero.body.choices[0].text).toBe('');
  expect(zero.body.choices[0].logprobs).toEqual({ tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] });
});

test('echo is a typed 422 that says what to use instead (the prompt is the encoder\'s input: no log-probs)', async () => {
  for (const body of [{ prompt: 'go to the red ball', max_tokens: 0, echo: true, logprobs: 1 }, { prompt: [5, 6], max_tokens: 1, echo: true }]) {
    const r = await post(`${s.url}/v1/completions`, { model: 't5-v1_1', ...body });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('EchoNotServed');
    expect(r.body.error.message).toMatch(/encoder-decoder.*POST \/v1\/score.*max_tokens 1/s);
  }
});
