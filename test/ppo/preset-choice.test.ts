// Presets that fit the model (issue 11): glam's random models get 'small', a model with its own
// tokenizer (a pretrained one) gets 'pretrained' — LoRA, lr in GLAM's range, target_kl — said in the
// first line of `glam train` and overridable by flags; target_kl ends an update's epochs early.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, expect, test } from 'vitest';

import { initModel } from '../../lib/model/init-model.js';
import { PRESET_TRAINING, presetFor } from '../../lib/ppo/presets.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { presetForModel } from '../../lib/ppo/preset-choice.js';
import { runCli } from '../cli/run-cli.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
const PRETRAINED = join(__dirname, '..', 'fixtures', 'models', 'llama'); // transformers' tiny Llama with its own tokenizer
let root: string;
let random: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'glam-preset-'));
  random = join(root, 'random');
  initModel(random, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
});

test('the preset follows the model', () => {
  expect(presetForModel(undefined).preset).toBe('small');
  expect(presetForModel(random)).toMatchObject({ preset: 'small', reason: /glam initialised/ });
  expect(presetForModel(PRETRAINED)).toMatchObject({ preset: 'pretrained', reason: /pretrained model: it has its own tokenizer/ });
  const p = presetFor('pretrained');
  expect(p.learningRate).toBeLessThanOrEqual(1e-5); // GLAM: 1e-6 with every weight; the small preset's 3e-4 wrecks a pretrained model
  expect(p.learningRate).toBeGreaterThanOrEqual(1e-6);
  expect(p.targetKl).toBe(0.02);
  expect(PRESET_TRAINING.pretrained).toEqual({ mode: 'lora', rank: 8, alpha: 16 });
  expect(presetFor('glam').targetKl).toBeNull();
});

const tiny = ['--level', LEVEL, '--envs', '2', '--steps', '4', '--frames', '8', '--threads', '1'];

test('glam train on a pretrained model says so in its first line and trains LoRA; flags override', async () => {
  const dir = join(root, 'pre');
  const r = await runCli(['train', '--model', PRETRAINED, ...tiny, '--epochs', '1', '--run', dir]);
  expect(r.code, r.err).toBe(0);
  expect(r.err.split('\n')[0]).toMatch(/^glam train: PPO on .* with .*llama, LoRA rank 8, 8 frames = 1 updates of 2 envs x 4 steps, preset pretrained \(made for a pretrained model: it has its own tokenizer\), lr 0\.00001, target_kl 0\.02, /);
  expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ training: { mode: 'lora', rank: 8 }, ppo: { learningRate: 1e-5, targetKl: 0.02 } });
  const full = await runCli(['train', '--model', PRETRAINED, ...tiny, '--epochs', '1', '--full', '--preset', 'small', '--run', join(root, 'pre-full')]);
  expect(full.code, full.err).toBe(0);
  expect(full.err.split('\n')[0]).toMatch(/full fine-tuning, .*preset small \(as --preset says\), lr 0\.0003, seed/);
  const bad = await runCli(['train', '--model', PRETRAINED, ...tiny, '--full', '--lora', '4']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--lora and --full contradict/);
  const rnd = await runCli(['train', '--model', random, ...tiny, '--epochs', '1', '--run', join(root, 'rnd')]);
  expect(rnd.err.split('\n')[0]).toMatch(/full fine-tuning, .*preset small \(made for a model glam initialised: it has the built-in tokenizer\), lr 0\.0003, seed/);
});

test("target_kl ends an update's epochs once an epoch's approx_kl exceeds it (CleanRL)", async () => {
  const dir = join(root, 'kl');
  const r = await runCli(['train', '--model', random, ...tiny, '--epochs', '4', '--minibatch', '4', '--lr', '0.01', '--target-kl', '1e-12', '--run', dir]);
  expect(r.code, r.err).toBe(0);
  const [rec] = readJsonl(join(dir, 'metrics.jsonl')) as Record<string, number>[];
  expect(rec!['losses/approx_kl']).toBeGreaterThan(1e-12);
  expect(rec!['perf/gradient_steps']).toBe(2); // one epoch of 2 minibatches, not 4 epochs
});
