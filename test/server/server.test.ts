// The server around the routes: vLLM's tokenizer routes and model list, /health, Prometheus /metrics,
// the Bearer key (401), the body limit (413), content types (415), malformed JSON (400), unknown
// routes (404), the bounded queue over HTTP (429 + Retry-After), training off (403), and the drain:
// close() lets in-flight requests finish, then refuses.
import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { get, post, serve, type Served } from './harness.js';

let policy: Policy;
let s: Served;
const KEY = 'test-key-123';
const auth = { authorization: `Bearer ${KEY}` };
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
  s = await serve(policy, { apiKey: KEY, maxBodyBytes: 4096 });
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

test('tokenizer routes and the model list in vLLM shapes', async () => {
  const t = await post(`${s.url}/tokenize`, { prompt: 'go to the red ball' }, auth);
  expect(t.status).toBe(200);
  expect(t.body).toEqual({ tokens: policy.tokenizer.encode('go to the red ball', true), count: t.body.tokens.length, max_model_len: policy.config.maxPositions });
  const d = await post(`${s.url}/detokenize`, { tokens: t.body.tokens }, auth);
  expect(d.body).toEqual({ prompt: 'go to the red ball' });
  const bad = await post(`${s.url}/detokenize`, { tokens: [policy.config.vocabSize] }, auth);
  expect([bad.status, bad.body.error.code]).toEqual([422, 'TokenOutOfRange']);
  const info = await get(`${s.url}/tokenizer_info`, auth);
  expect(info.body).toMatchObject({ vocab_size: policy.config.vocabSize, model_max_length: policy.config.maxPositions });
  expect('eos_token' in info.body).toBe(true);
  const m = await get(`${s.url}/v1/models`, auth);
  expect(m.body).toMatchObject({ object: 'list', data: [{ id: 'glam-builtin', object: 'model', owned_by: 'glam', max_model_len: policy.config.maxPositions }] });
});

test('the API key: 401 without it or with a wrong one, in every guarded route; /health and /metrics open', async () => {
  for (const h of [{}, { authorization: 'Bearer wrong' }, { authorization: KEY }, { authorization: `Bearer ${KEY}x` }]) {
    const r = await post(`${s.url}/v1/score`, { prompts: ['a'], candidates: [['b']] }, h);
    expect([r.status, r.body.error.code, r.headers.get('www-authenticate')]).toEqual([401, 'Unauthorized', 'Bearer']);
    expect((await get(`${s.url}/v1/models`, h)).status).toBe(401);
    expect((await post(`${s.url}/tokenize`, { prompt: 'a' }, h)).status).toBe(401);
  }
  expect((await get(`${s.url}/health`)).body).toMatchObject({ status: 'ok' });
  expect((await get(`${s.url}/metrics`)).status).toBe(200);
  expect((await post(`${s.url}/v1/score`, { prompts: ['a'], candidates: [['b']] }, auth)).status).toBe(200);
});

test('413 over the body limit, 415 for other content types, 400 for broken JSON, 404, 403 for training', async () => {
  const big = await post(`${s.url}/v1/score`, { prompts: ['x'.repeat(5000)], candidates: [['b']] }, auth);
  expect([big.status, big.body.error.code]).toEqual([413, 'PayloadTooLarge']);
  const txt = await fetch(`${s.url}/v1/score`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' });
  expect([txt.status, ((await txt.json()) as { error: { code: string } }).error.code]).toEqual([415, 'UnsupportedMediaType']);
  for (const body of ['{"prompts": [', '{"prompts": ["a"],}', 'null', '']) {
    const r = await fetch(`${s.url}/v1/score`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(r.status, body).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RequestInvalid');
  }
  const nf = await get(`${s.url}/v2/nothing`, auth);
  expect([nf.status, nf.body.error.code]).toEqual([404, 'NotFound']);
  const tr = await post(`${s.url}/v1/train/step`, { lr: 1 }, auth);
  expect([tr.status, tr.body.error.code]).toEqual([403, 'TrainingDisabled']);
});

test('/metrics: queue depth, batch sizes, candidates, latency and rejections in Prometheus text', async () => {
  await post(`${s.url}/v1/score`, { prompts: ['a', 'b'], candidates: [['x', 'y'], ['z']] }, auth);
  const m = (await get(`${s.url}/metrics`)).body as string;
  for (const name of ['glam_queue_depth', 'glam_batch_prompts_bucket', 'glam_batch_tokens_sum', 'glam_candidates_scored_total', 'glam_request_duration_seconds_bucket', 'glam_rejections_total{reason="Unauthorized"}', 'process_resident_memory_bytes']) {
    expect(m).toContain(name);
  }
  expect(Number(/glam_candidates_scored_total (\d+)/.exec(m)![1])).toBeGreaterThanOrEqual(3);
});

test('a full queue answers 429 with Retry-After and a JSON body; everything else is answered 200', async () => {
  const q = await serve(policy, { maxQueue: 2, coalesce: false, maxWaitMs: 0 });
  try {
    const prompt = 'Goal of the agent: go to the red ball\nObservation 0: a wall 3 steps left\n'.repeat(8);
    const rs = await Promise.all(Array.from({ length: 24 }, () => post(`${q.url}/v1/score`, { prompts: [prompt], candidates: [['turn left', 'go forward']] })));
    const statuses = rs.map((r) => r.status);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThan(0);
    expect(statuses.every((x) => x === 200 || x === 429)).toBe(true);
    const r429 = rs.find((r) => r.status === 429)!;
    expect(Number(r429.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r429.body.error).toMatchObject({ code: 'Overloaded', type: 'rate_limit_error' });
  } finally {
    await q.server.close();
  }
});

test('close() drains: accepted requests finish, later ones are refused', async () => {
  const d = await serve(policy, { coalesce: false });
  const prompt = 'Goal of the agent: go to the red ball\nObservation 0: a wall 3 steps left\n'.repeat(12);
  const inflight = Array.from({ length: 6 }, () => post(`${d.url}/v1/score`, { prompts: [prompt], candidates: [['turn left', 'go forward']] })
    .then((r) => r.status, (e) => String(e.cause?.code ?? e)));
  while (d.server.ctx.batcher.waiting < 3) await new Promise((r) => setTimeout(r, 1)); // at least 4 accepted, one pass running
  const accepted = d.server.ctx.batcher.waiting + 1;
  const closed = d.server.close(10);
  const done = await Promise.all(inflight);
  expect(done.filter((x) => x === 200).length).toBeGreaterThanOrEqual(accepted);
  expect(done.every((x) => x === 200 || x === 503 || typeof x === 'string')).toBe(true); // late ones: 503 or a closed connection
  expect(await closed).toBe(true);
  await expect(fetch(`${d.url}/health`)).rejects.toThrow();
});
