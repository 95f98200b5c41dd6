// One training path (issue 11): trainRun from code and `glam train` are the same run from the same
// config — identical metrics, value head sized from the config — and trainPpo refuses a policy whose
// untrained value head contradicts the config instead of silently training another model. The
// tokenization is part of the run: recorded in config.json, kept on resume, a conflicting one refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, expect, test, vi } from 'vitest';

import { trainConfig } from '../../lib/cli/train.js';
import { initModel } from '../../lib/model/init-model.js';
import { Policy } from '../../lib/policy/policy.js';
import { readSafetensorsFile } from '../../lib/io/safetensors.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { readRunConfig } from '../../lib/ppo/run-config.js';
import { trainRun, type RunEvent } from '../../lib/ppo/run.js';
import { trainPpo } from '../../lib/ppo/trainer.js';
import { runCli } from '../cli/run-cli.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
let root: string;
let model: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'glam-run-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
});

/** The records without wall-clock measurements. */
const logged = (dir: string) => readJsonl(join(dir, 'metrics.jsonl')).map((r) => Object.fromEntries(
  Object.entries(r as Record<string, number>).filter(([k]) => k !== 'charts/SPS' && !k.startsWith('perf/') || k === 'perf/gradient_steps')));

test('trainRun from code and glam train are the same run: same config, same metrics, value head from valueHidden', async () => {
  const flags = ['--model', model, '--level', LEVEL, '--envs', '2', '--steps', '8', '--epochs', '2', '--frames', '48', '--seed', '4', '--threads', '1'];
  const cli = join(root, 'cli');
  const r = await runCli(['train', ...flags, '--run', cli]);
  expect(r.code, r.err).toBe(0);

  const code = join(root, 'code');
  const { cfg } = trainConfig({ model, level: LEVEL, envs: '2', steps: '8', epochs: '2', frames: '48', seed: '4' });
  const events: RunEvent['kind'][] = [];
  const res = await trainRun({ model, config: cfg, run: code, threads: 1 }, { onEvent: (e) => void events.push(e.kind) });
  expect(res).toMatchObject({ update: 3, frames: 48, stopped: false, saved: join(code, 'final') });
  expect(events[0]).toBe('start');
  expect(events.filter((k) => k === 'update')).toHaveLength(3);
  expect(events.filter((k) => k === 'progress')).toHaveLength(3 * (8 + 2 * 1)); // 8 rollout steps, 2 epochs x 1 minibatch
  expect(logged(code)).toEqual(logged(cli));
  const head = readSafetensorsFile(join(code, 'final', 'value_head.safetensors'));
  expect(head.get('value_head.0.weight')!.shape).toEqual([64, 32]); // the small preset's 64-64, not Policy.load's default 1024
  expect(head.get('value_head.2.weight')!.shape).toEqual([64, 64]);
});

test("trainPpo refuses an untrained policy whose value head is not the config's", async () => {
  const policy = await Policy.load(model, { threads: 1 }); // GLAM's 1024-1024 head by default
  try {
    const cfg = resolvePpoConfig({ level: LEVEL, numEnvs: 2, numSteps: 2, minibatchSize: 4, totalFrames: 4 }, 'small');
    await expect(trainPpo(policy, cfg)).rejects.toThrow(/value head is 1024-1024 but the config's valueHidden is 64-64: load the policy with Policy\.load\(dir, \{ valueHidden: \[64, 64\] \}\)/);
  } finally {
    await policy.dispose();
  }
});

afterEach(() => vi.restoreAllMocks());

test("the tokenization is the run's: config.json records it, --resume keeps it, a conflicting one is a typed error", async () => {
  const t5 = join(__dirname, '..', 'fixtures', 'models', 't5-v1_0');
  const dir = join(root, 't5-lamorel');
  const cfg = resolvePpoConfig({ level: LEVEL, numEnvs: 2, numSteps: 2, minibatchSize: 4, updateEpochs: 1, totalFrames: 4, valueHidden: [8] }, 'glam');
  const first = await trainRun({ model: t5, config: cfg, run: dir, threads: 1 });
  expect(first).toMatchObject({ update: 1, stopped: false });
  expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).ppo.tokenization).toBe('lamorel');
  expect(readRunConfig(dir).ppo.tokenization).toBe('lamorel');

  await expect(trainRun({ resume: dir, totalFrames: 8, tokenization: 'separate', threads: 1 })).rejects.toMatchObject({
    code: 'InvalidArgument', message: expect.stringMatching(/trained with tokenization 'lamorel'; a resumed run keeps it .*drop --tokenization separate/),
  });
  // resumed (as asked or as recorded), the trainer scores Lamorel's ids: no prompt ends in T5's </s> (id 1)
  const scored: number[][] = [];
  const real = Policy.prototype.scoreTokens;
  vi.spyOn(Policy.prototype, 'scoreTokens').mockImplementation(function (this: Policy, t, o) {
    scored.push(...t.prompts);
    return real.call(this, t, o);
  });
  const resumed = await trainRun({ resume: dir, totalFrames: 8, tokenization: 'lamorel', threads: 1 });
  expect(resumed).toMatchObject({ update: 2, frames: 8, stopped: false });
  expect(scored.length).toBe(2 * 3); // 2 envs x (2 steps + the bootstrap)
  expect(scored.every((p) => p.at(-1) !== 1)).toBe(true);
  expect(readRunConfig(dir).ppo).toMatchObject({ tokenization: 'lamorel', totalFrames: 8 });

  // a config.json from before the field existed trained with glam's own rule, not the glam preset's default
  const old = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  delete old.ppo.tokenization;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(old));
  expect(readRunConfig(dir).ppo.tokenization).toBe('separate');
});
