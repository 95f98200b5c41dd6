// The training calls over HTTP (--allow-training): forward → backward → step raises the chosen
// candidate's probability exactly as the same calls on a Policy in-process do; the value head turns
// "trained" after a step; handles are single use; save writes a checkpoint that Policy.load resumes,
// only under --train-root; a save the user can fix (a file in the way, another program's directory)
// is a 409 SavePathConflict that changes nothing; training needs an API key and a root.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { SERVE_DEFAULTS } from '../../lib/server/context.js';
import { createServer } from '../../lib/server/server.js';
import { confinedPath } from '../../lib/server/save-target.js';
import { post, serve, type Served } from './harness.js';

let policy: Policy;
let s: Served;
let root: string;
const auth = { authorization: 'Bearer k' };
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glam-serve-train-'));
  policy = await Policy.load(undefined, { threads: 1 });
  s = await serve(policy, { apiKey: 'k', allowTraining: true, trainRoot: root });
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

const prompts = ['Goal of the agent: go to the red ball\nAction 0: '];
const candidates = [['turn left', 'turn right', 'go forward']];

test('forward/backward/step over HTTP equals the same calls in-process, and raises the chosen probability', async () => {
  const local = await Policy.load(undefined, { threads: 1 });
  try {
    local.enableTraining({ mode: 'full' });
    const f = await post(`${s.url}/v1/train/forward`, { prompts, candidates }, auth);
    expect(f.status).toBe(200);
    expect(f.body.value_head_trained).toBe(false);
    const probs = f.body.results[0].candidates.map((c: { prob: number }) => c.prob) as number[];
    const k0 = probs.indexOf(Math.min(...probs)); // the least likely candidate is the one reinforced
    const p0 = probs[k0]!;
    const lf = await local.forward({ prompts, candidates }, { grad: true });
    expect(p0).toBeCloseTo(lf.probs[k0]!, 5);
    // policy gradient on candidate k0: d(-log pi(k0)) / d logprob_k = p_k - [k == k0]
    const d = f.body.results[0].candidates.map((c: { prob: number }, k: number) => c.prob - (k === k0 ? 1 : 0));
    expect((await post(`${s.url}/v1/train/backward`, { handle: f.body.handle, d_logprobs: [d], d_values: [0.5] }, auth)).status).toBe(200);
    await local.backward(lf.handle, d, [0.5]);
    const st = await post(`${s.url}/v1/train/step`, { lr: 0.001, max_grad_norm: 1 }, auth);
    expect(st.status).toBe(200);
    expect(st.body.grad_norm).toBeCloseTo(await local.step({ lr: 0.001, maxGradNorm: 1 }), 4);
    expect(st.body).toMatchObject({ step: 1, value_head_trained: true });
    expect((await post(`${s.url}/v1/train/zero_grad`, {}, auth)).status).toBe(200);
    const after = await post(`${s.url}/v1/score`, { prompts, candidates }, auth);
    expect(after.body.value_head_trained).toBe(true);
    const p1 = after.body.results[0].candidates[k0].prob as number;
    expect(p1).toBeGreaterThan(p0);
    expect(p1).toBeCloseTo((await local.score({ prompts, candidates })).probs[k0]!, 4);
    // the top-N head follows the new weights
    const c = await post(`${s.url}/v1/completions`, { prompt: prompts[0] + 'go forward', echo: true, logprobs: 1, max_tokens: 0 }, auth);
    const ids = local.tokenizer.encode(prompts[0] + 'go forward', true);
    const ref = await local.scoreTokens({ prompts: [ids.slice(0, -1)], candidates: [[[ids[ids.length - 1]!]]] });
    expect(c.body.choices[0].logprobs.token_logprobs.at(-1)).toBeCloseTo(ref.logprobs[0]!, 4);
  } finally {
    await local.dispose();
  }
});

test('handles are single use; gradient shapes are checked and a wrong shape keeps the handle', async () => {
  const f = await post(`${s.url}/v1/train/forward`, { prompts, candidates }, auth);
  const bad = await post(`${s.url}/v1/train/backward`, { handle: f.body.handle, d_logprobs: [1, 2], d_values: [0] }, auth);
  expect([bad.status, bad.body.error.code]).toEqual([400, 'InvalidArgument']);
  const right = await post(`${s.url}/v1/train/backward`, { handle: f.body.handle, d_logprobs: [0, 0, 0], d_values: [0] }, auth);
  expect(right.status).toBe(200); // a wrong shape leaves the handle usable
  const again = await post(`${s.url}/v1/train/backward`, { handle: f.body.handle, d_logprobs: [1, 2, 3], d_values: [0] }, auth);
  expect([again.status, again.body.error.code]).toEqual([400, 'RequestInvalid']);
  const nokey = await post(`${s.url}/v1/train/forward`, { prompts, candidates });
  expect(nokey.status).toBe(401);
});

test('save writes a checkpoint under the root that Policy.load resumes; paths leaving the root are refused', async () => {
  const r = await post(`${s.url}/v1/train/save`, { dir: 'ckpt/a' }, auth);
  expect(r.status).toBe(200);
  expect(existsSync(join(root, 'ckpt/a', 'glam_training.json'))).toBe(true);
  const back = await Policy.load(join(root, 'ckpt/a'), { threads: 1 });
  expect(back.valueHeadTrained).toBe(true);
  await back.dispose();
  mkdirSync(join(root, 'inside'));
  symlinkSync(tmpdir(), join(root, 'inside', 'out'));
  for (const dir of ['../x', '/tmp/x', 'a/../../x', '.', '', 'inside/out/x', 'a\0b']) {
    const e = await post(`${s.url}/v1/train/save`, { dir }, auth);
    expect(e.status, dir).toBe(400);
    expect(['PathOutsideRoot', 'RequestInvalid']).toContain(e.body.error.code);
  }
  expect(() => confinedPath(root, 'ok/deeper')).not.toThrow();
});

test('a file in the way or a directory that is not a glam checkpoint is a 409 that changes nothing; a checkpoint is replaced', async () => {
  writeFileSync(join(root, 'afile'), 'mine');
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'notes.txt'), 'mine too');
  for (const dir of ['afile', 'afile/sub', 'data']) {
    const e = await post(`${s.url}/v1/train/save`, { dir }, auth);
    expect([e.status, e.body.error.code], dir).toEqual([409, 'SavePathConflict']);
    expect(e.body.error.message).toMatch(/choose (another|a new) name/);
  }
  expect(readFileSync(join(root, 'afile'), 'utf8')).toBe('mine');
  expect(readFileSync(join(root, 'data', 'notes.txt'), 'utf8')).toBe('mine too');
  for (let i = 0; i < 2; ++i) expect((await post(`${s.url}/v1/train/save`, { dir: 'ckpt/again' }, auth)).status).toBe(200);
  expect(existsSync(join(root, 'ckpt/again', 'value_head.safetensors'))).toBe(true);
});

test('training needs an API key and a root', () => {
  const opts = { ...SERVE_DEFAULTS, modelName: 'm', allowTraining: true };
  expect(() => createServer(policy, { ...opts, trainRoot: root }, false)).toThrow(/API key/);
  expect(() => createServer(policy, { ...opts, apiKey: 'k' }, false)).toThrow(/--train-root/);
});

test('past 16 open handles the oldest is released (zero gradient) and says so when used', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 18; ++i) ids.push((await post(`${s.url}/v1/train/forward`, { prompts, candidates }, auth)).body.handle);
  const old = await post(`${s.url}/v1/train/backward`, { handle: ids[0], d_logprobs: [0, 0, 0], d_values: [0] }, auth);
  expect([old.status, old.body.error.code]).toEqual([400, 'RequestInvalid']);
  expect(old.body.error.message).toMatch(/released/);
  for (const h of ids.slice(2)) expect((await post(`${s.url}/v1/train/backward`, { handle: h, d_logprobs: [0, 0, 0], d_values: [0] }, auth)).status).toBe(200);
  expect(policy.trainingInfo().openHandles).toBe(0);
});
