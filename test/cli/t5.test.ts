// The product around T5 through the real command parser: `glam init-model --arch t5` writes the T5
// v1.1 / Flan-T5 layout the engine loads; `glam score` with a T5 directory equals the API;
// `glam train --model <t5 dir> --preset glam` runs PPO as GLAM did (full fine-tuning, Lamorel's
// tokenization, recorded in config.json) and its final policy loads and scores; `--resume` with another
// --tokenization exits 2; `glam eval` on the run scores with the run's tokenization.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, expect, test, vi } from 'vitest';

import { runCli } from './run-cli.js';
import { policyScorer } from '../../lib/agent/baselines.js';
import { evaluate } from '../../lib/agent/evaluate.js';
import { Policy } from '../../lib/policy/policy.js';
import type { ScoreRequest } from '../../lib/policy/score-result.js';

const root = mkdtempSync(join(tmpdir(), 'glam-t5-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

test('glam init-model --arch t5 writes a T5 v1.1 directory; glam score on it equals the API', async () => {
  const dir = join(root, 't5');
  const r = await runCli(['init-model', '--arch', 't5', '--layers', '1', '--hidden', '32', '--heads', '2', '--out', dir, '--seed', '4']);
  expect(r.code, r.err).toBe(0);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  expect(cfg).toMatchObject({ architectures: ['T5ForConditionalGeneration'], feed_forward_proj: 'gated-gelu', tie_word_embeddings: false });
  expect(readFileSync(join(dir, 'config.json'), 'utf8')).toMatch(/"initializer_factor": 1\.0/);
  const s = await runCli(['score', '--model', dir, '--prompt', 'go to the red ball', '--actions', 'turn left|go forward', '--json', '--threads', '1']);
  expect(s.code, s.err).toBe(0);
  const got = JSON.parse(s.out) as { actions: { logprob: number }[] };
  const p = await Policy.load(dir, { threads: 1 });
  const want = await p.score({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] });
  expect(got.actions.map((a) => a.logprob)).toEqual(Array.from(want.logprobs));
  expect(p.config.t5!.numDecoderLayers).toBe(1);
  await p.dispose();
});

test("glam score --lamorel scores a T5 prompt without </s>, as Lamorel and transformers' recorded values do", async () => {
  const dir = join(__dirname, '..', 'fixtures', 'models', 't5-v1_1');
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as
    { prompts: { prompt: string; candidates: { text: string; logprob: number; logprob_lamorel: number }[] }[] };
  const p = exp.prompts[0]!;
  for (const [flags, key] of [[[], 'logprob'], [['--lamorel'], 'logprob_lamorel']] as const) {
    const r = await runCli(['score', '--model', dir, '--prompt', p.prompt, '--actions', p.candidates.map((c) => c.text).join('|'), '--json', '--threads', '1', ...flags]);
    expect(r.code, r.err).toBe(0);
    const got = JSON.parse(r.out) as { actions: { logprob: number }[] };
    got.actions.forEach((a, k) => expect(Math.abs(a.logprob - p.candidates[k]![key])).toBeLessThan(1e-4));
  }
  const both = await runCli(['score', '--model', dir, '--prompt', 'x', '--actions', 'a', '--joint', '--lamorel']);
  expect(both.code).toBe(2);
  expect(both.err).toMatch(/--joint and --lamorel/);
});

test('glam train --model <t5 dir> --preset glam: PPO updates, a final policy that loads and scores', async () => {
  const run = join(root, 'run');
  const model = join(__dirname, '..', 'fixtures', 'models', 't5-v1_0');
  const r = await runCli(['train', '--model', model, '--preset', 'glam', '--envs', '2', '--steps', '8', '--epochs', '1', '--minibatch', '16',
    '--frames', '32', '--threads', '2', '--seed', '1', '--run', run]);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toMatch(/full fine-tuning, 32 frames = 2 updates of 2 envs x 8 steps, preset glam .*, tokenization lamorel/);
  expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).ppo.tokenization).toBe('lamorel');
  expect(existsSync(join(run, 'final', 'model.safetensors'))).toBe(true);
  const p = await Policy.load(join(run, 'final'), { threads: 1 });
  expect(p.config.family).toBe('t5');
  const s = await p.score({ prompts: ['Goal of the agent: go to the red ball'], candidates: [['turn left', 'go forward']] });
  expect(s.logprobs.every(Number.isFinite)).toBe(true);
  await p.dispose();
});

test('glam train --resume with a conflicting --tokenization exits 2 and says why; glam eval scores with the run\'s tokenization', async () => {
  const run = join(root, 'run'); // the previous test's --preset glam run: Lamorel's tokenization
  const bad = await runCli(['train', '--resume', run, '--frames', '48', '--tokenization', 'separate', '--threads', '1']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/InvalidArgument: .*trained with tokenization 'lamorel'; a resumed run keeps it/);
  const typo = await runCli(['train', '--resume', run, '--tokenization', 'lamorell']);
  expect(typo.code).toBe(2);
  expect(typo.err).toMatch(/Expected separate, joint, lamorel for --tokenization but received 'lamorell'/);

  const asked: (ScoreRequest['tokenization'])[] = [];
  const real = Policy.prototype.score;
  vi.spyOn(Policy.prototype, 'score').mockImplementation(function (this: Policy, req) {
    asked.push(req.tokenization);
    return real.call(this, req);
  });
  const level = 'BabyAI-MixedTrainLocal-v0';
  const e = await runCli(['eval', '--policy', run, '--level', level, '--episodes', '2', '--envs', '2', '--json', '--threads', '1']);
  expect(e.code, e.err).toBe(0);
  const j = JSON.parse(e.out);
  expect(j.tokenization).toBe('lamorel');
  expect(asked.length).toBeGreaterThan(0);
  expect(new Set(asked)).toEqual(new Set(['lamorel']));
  // the same numbers as evaluate() with Lamorel's tokenization and the run's memory (GLAM's 3 observations)
  const p = await Policy.load(join(run, 'final'), { threads: 1 });
  try {
    const want = await evaluate(policyScorer(p, 'lamorel'), { level, episodes: 2, numEnvs: 2, memory: { observations: 3, actions: 2 } });
    expect([j.successRate, j.meanReturn, j.meanLength]).toEqual([want.successRate, want.meanReturn, want.meanLength]);
  } finally {
    await p.dispose();
  }
  const over = await runCli(['eval', '--policy', run, '--level', level, '--episodes', '2', '--envs', '2', '--json', '--threads', '1', '--tokenization', 'separate']);
  expect(over.code, over.err).toBe(0);
  expect(JSON.parse(over.out).tokenization).toBe('separate');
  expect(asked.at(-1)).toBe('separate');
});
