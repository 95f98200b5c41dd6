// `glam train` end to end on a tiny model (hidden 32, 1 layer) and a few updates of 2 envs: the run
// directory (config.json, metrics.jsonl under CleanRL's names, a TensorBoard file, checkpoints, final/,
// curve.svg, state.json), a stop flag saving a checkpoint and --resume continuing from it (optimizer
// state included), behaviour cloning, the progress bar on a terminal, bad flags exiting 2, and a real
// Ctrl-C in a child process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, test } from 'vitest';

import { runCli } from './run-cli.js';
import { train } from '../../lib/cli/train.js';
import { initModel } from '../../lib/model/init-model.js';
import { Policy } from '../../lib/policy/policy.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { presetFor } from '../../lib/ppo/presets.js';
import { METRIC_NAMES } from '../../lib/ppo/metrics.js';
import { gpu } from '../gpu/gpu.js';
import { checkXml } from '../ppo/xml-check.js';

const run = runCli;

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
let root: string;
let model: string;
const tiny = () => ['--model', model, '--level', LEVEL, '--threads', '1', '--epochs', '1'];
const trainingStep = (dir: string) => (JSON.parse(readFileSync(join(dir, 'glam_training.json'), 'utf8')) as { step: number }).step;
const updates = (dir: string) => readJsonl(join(dir, 'metrics.jsonl')).map((r) => (r as { update: number }).update);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'glam-train-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
});

test('a tiny PPO run writes config.json, CleanRL-named metrics, TensorBoard, checkpoints, final/, curve.svg', async () => {
  const dir = join(root, 'ppo');
  // 5 updates of 2 envs x 16 steps: 80 steps per env, so every env ends an episode (max 64 steps)
  const r = await run(['train', ...tiny(), '--envs', '2', '--steps', '16', '--minibatch', '32', '--frames', '160', '--checkpoint-every', '2', '--seed', '3', '--run', dir]);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toMatch(/^glam train: PPO on BabyAI-GoToRedBallNoDists-v0 with .*model, full fine-tuning, 160 frames = 5 updates of 2 envs x 16 steps, .*run dir /);
  expect(r.err).toMatch(/update 5\/5 {2}frames 160\/160 {2}\d+ frames\/s {2}success \S+ {2}ETA/);
  expect(r.out).toMatch(/^glam train: done, 5 updates \(160 frames\) in .*; final policy .*final; curve .*curve\.svg\n$/);

  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  expect(cfg).toMatchObject({ format: 'glam-run-v1', algo: 'ppo', model, training: { mode: 'full' }, checkpointEvery: 2 });
  expect(cfg.ppo).toMatchObject({ level: LEVEL, numEnvs: 2, numSteps: 16, minibatchSize: 32, updateEpochs: 1, seed: 3, numUpdates: 5, batchSize: 32 });

  const records = readJsonl(join(dir, 'metrics.jsonl')) as Record<string, unknown>[];
  expect(records.map((x) => [x.update, x.step])).toEqual([[1, 32], [2, 64], [3, 96], [4, 128], [5, 160]]);
  const keys = new Set(records.flatMap((x) => Object.keys(x)));
  for (const name of METRIC_NAMES) expect(keys, name).toContain(name);
  expect(records[0]!['charts/learning_rate']).toBe(presetFor('small').learningRate);

  const tb = readdirSync(join(dir, 'tb'));
  expect(tb).toHaveLength(1);
  expect(tb[0]).toMatch(/^events\.out\.tfevents\.\d+\./);
  const events = readFileSync(join(dir, 'tb', tb[0]!));
  let n = 0;
  for (let off = 0; off < events.length; n++) off += 16 + events.readUInt32LE(off); // TFRecord framing
  expect(n).toBe(6); // file version + one event per update

  expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['update-2', 'update-4']);
  expect(trainingStep(join(dir, 'checkpoints', 'update-4'))).toBe(4); // 1 epoch x 1 minibatch per update
  expect(trainingStep(join(dir, 'final'))).toBe(5);
  const p = await Policy.load(join(dir, 'final'), { threads: 1 });
  await p.dispose();
  expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({ update: 5, frames: 160, finished: true, checkpoint: { path: 'final' } });

  const svg = readFileSync(join(dir, 'curve.svg'), 'utf8');
  expect(checkXml(svg).root).toBe('svg');
  expect(svg.match(/<polyline /g)).toHaveLength(2);
  expect(svg).toContain('PPO on BabyAI-GoToRedBallNoDists-v0');
});

test('a stop flag saves a checkpoint and exits cleanly; --resume continues from it with its optimizer state', async () => {
  const dir = join(root, 'stop');
  const ac = new AbortController();
  let out = '';
  let err = '';
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s) };
  const s = await train({ model, level: LEVEL, threads: '1', epochs: '1', envs: '2', steps: '4', frames: '32', checkpointEvery: '10', run: dir }, io, {
    signal: ac.signal, onUpdate: (u) => { if (u === 2) ac.abort(); },
  });
  expect(s).toMatchObject({ stopped: true, update: 2, frames: 16, saved: join(dir, 'checkpoints', 'update-2') });
  expect(out).toMatch(/stopped at update 2\/4 \(16 frames\).*checkpoint .*update-2; continue with: glam train --resume /);
  expect(existsSync(join(dir, 'final'))).toBe(false);
  expect(existsSync(join(dir, 'curve.svg'))).toBe(true);
  expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({ update: 2, finished: false, checkpoint: { update: 2 } });

  const r = await run(['train', '--resume', dir, '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toMatch(/^glam train: resuming .* at update 2\/4 from .*update-2\n/);
  expect(r.err).not.toMatch(/update [12]\/4 {2}frames/);
  expect(updates(dir)).toEqual([1, 2, 3, 4]);
  expect(trainingStep(join(dir, 'final'))).toBe(4); // the checkpoint's 2 optimizer steps, then 2 more
  expect(readdirSync(join(dir, 'tb'))).toHaveLength(2);

  // more frames continue the finished run from final/
  const more = await run(['train', '--resume', dir, '--frames', '48', '--threads', '1']);
  expect(more.code, more.err).toBe(0);
  expect(updates(dir)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(trainingStep(join(dir, 'final'))).toBe(6);
  expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).ppo.totalFrames).toBe(48);
});

test('--algo bc: behaviour cloning logs losses/bc_loss and greedy evaluations', async () => {
  const dir = join(root, 'bc');
  const r = await run(['train', '--algo', 'bc', ...tiny(), '--envs', '2', '--steps', '4', '--frames', '16', '--demos', '2', '--eval-every', '2', '--eval-episodes', '2', '--lr', '0.003', '--run', dir]);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toMatch(/^glam train: behaviour cloning on 2 bot episodes of BabyAI-GoToRedBallNoDists-v0/);
  expect(r.err).toMatch(/demonstrations: \d+ decisions from 2 solved of 2 bot episodes/);
  const records = readJsonl(join(dir, 'metrics.jsonl')) as Record<string, number>[];
  expect(records).toHaveLength(2);
  expect(records[0]!['losses/bc_loss']).toBeGreaterThan(0);
  expect(records[0]!['eval/success_rate']).toBeUndefined();
  expect(records[1]!['eval/success_rate']).toBeGreaterThanOrEqual(0);
  expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ algo: 'bc', bc: { demoEpisodes: 2, evalEvery: 2, evalEpisodes: 2 } });
  expect(readFileSync(join(dir, 'curve.svg'), 'utf8')).toContain('(greedy eval)');
});

test('on a terminal the progress is a cli-progress bar with frames, frames/s, success and ETA', async () => {
  let screen = '';
  const tty = Object.assign(Object.create(null), { isTTY: true, columns: 160, write: (s: string) => { screen += s; return true; } }) as NodeJS.WritableStream;
  let err = '';
  await train({ ...{ model, level: LEVEL, threads: '1', epochs: '1' }, envs: '2', steps: '4', frames: '16', checkpointEvery: '1', run: join(root, 'tty') },
    { out: () => {}, err: (s) => void (err += s) }, { tty });
  expect(screen).toMatch(/\| 16\/16 frames \| \d+ frames\/s \| success - \| update 2\/2 \| ETA/);
  expect(screen).toMatch(/checkpoint .*update-1\n/); // logged above the bar
  expect(err).not.toMatch(/update \d\/2 {2}frames/); // no plain progress lines
});

describe('bad flags exit 2 with a message', () => {
  test.each([
    [['--envs', '0'], /InvalidArgument: .*--envs/],
    [['--algo', 'dqn'], /--algo/],
    [['--preset', 'huge'], /--preset/],
    [['--lr', '-1'], /--lr/],
    [['--lr', 'fast'], /--lr/],
    [['--frames', '1.5'], /--frames/],
    [['--device', 'tpu'], /InvalidArgument: .*cpu or cuda for --device/],
    [['--level', 'BabyAI-Nowhere-v0'], /level/],
    [['--envs', '2', '--steps', '2', '--minibatch', '8'], /minibatchSize/],
    [['--demos', '3'], /--demos only apply to --algo bc/],
    [['--config', '/nonexistent/ppo.json'], /ConfigMissing/],
    [['--resume', '/nonexistent/run'], /ConfigMissing: .*not a glam run directory/],
    [['--model', '/nonexistent/model'], /^glam: ConfigMissing/],
  ])('%s', async (args, message) => {
    const r = await run(['train', '--threads', '1', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  });

  test.skipIf(gpu.ok)(`--device cuda without a usable GPU is DeviceUnavailable, before any run directory${gpu.ok ? ' — skipped: a GPU is here (test/gpu trains on it)' : ''}`, async () => {
    const dir = join(root, 'cuda-run');
    const r = await run(['train', ...tiny(), '--envs', '2', '--steps', '2', '--frames', '4', '--device', 'cuda', '--run', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^glam: DeviceUnavailable: device 'cuda' was asked for but .*'cpu'/);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(existsSync(dir)).toBe(false);
  });

  test('--config with an unknown key; --resume with other flags; an existing --run', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ learningRat: 1e-3 }));
    const a = await run(['train', '--config', bad]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/PPO config key .*learningRat/);
    const b = await run(['train', '--resume', join(root, 'ppo'), '--lr', '0.1', '--seed', '2']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/only --frames and --threads go with it, not --lr, --seed/);
    const c = await run(['train', ...tiny(), '--envs', '2', '--steps', '4', '--run', join(root, 'ppo')]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--resume/);
    const d = await run(['train', '--resume', join(root, 'ppo')]);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/finished: pass --frames N/);
  });

  test('--config takes PPO fields (flags win) and a run config.json', async () => {
    const file = join(root, 'cfg.json');
    writeFileSync(file, JSON.stringify({ numEnvs: 2, numSteps: 4, minibatchSize: 8, learningRate: 5e-4, totalFrames: 8, level: LEVEL }));
    const dir = join(root, 'from-config');
    const r = await run(['train', '--config', file, '--model', model, '--lr', '0.002', '--threads', '1', '--epochs', '1', '--run', dir]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).ppo).toMatchObject({ numEnvs: 2, learningRate: 0.002, totalFrames: 8 });
    const again = join(root, 'from-run-config');
    const r2 = await run(['train', '--config', join(dir, 'config.json'), '--model', model, '--threads', '1', '--frames', '16', '--run', again]);
    expect(r2.code, r2.err).toBe(0);
    expect(JSON.parse(readFileSync(join(again, 'config.json'), 'utf8')).ppo).toMatchObject({ learningRate: 0.002, totalFrames: 16, numUpdates: 2 });
  });
});

test('Ctrl-C in a real process: the update finishes, a checkpoint is saved, exit code 0', async () => {
  const dir = join(root, 'sigint');
  const viteNode = join(__dirname, '..', '..', 'node_modules', 'vite-node', 'vite-node.mjs');
  const child = spawn(process.execPath, [viteNode, join(__dirname, 'train-child.ts'), '--', 'train', ...tiny(), '--envs', '2', '--steps', '4', '--frames', '800000', '--run', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let sent = false;
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!sent && /update 1\/\d+/.test(err)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(sent, err).toBe(true);
  expect(code, err).toBe(0);
  expect(err).toMatch(/stopping after this update and saving a checkpoint/);
  expect(out).toMatch(/^glam train: stopped at update \d+\/100000 .*continue with: glam train --resume /);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { update: number; checkpoint: { update: number; path: string } };
  expect(state.checkpoint.update).toBe(state.update);
  expect(statSync(join(dir, state.checkpoint.path, 'glam_training.json')).isFile()).toBe(true);
}, 60_000);

test("a resumed run's checkpoints and final/ hold the tokenizer after the checkpoint it resumed from is pruned (issue 11)", async () => {
  const dir = join(root, 'tokenizer');
  const ac = new AbortController();
  const io = { out: () => {}, err: () => {} };
  await train({ model, level: LEVEL, threads: '1', epochs: '1', envs: '2', steps: '4', frames: '48', checkpointEvery: '1', run: dir }, io, {
    signal: ac.signal, onUpdate: (u) => { if (u === 2) ac.abort(); },
  });
  const r = await run(['train', '--resume', dir, '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['update-4', 'update-5']); // update-2, resumed from, is pruned
  for (const p of ['checkpoints/update-5', 'final']) {
    expect(existsSync(join(dir, p, 'tokenizer.json')), p).toBe(true);
    const policy = await Policy.load(join(dir, p), { threads: 1 });
    await policy.dispose();
  }
  const again = await run(['train', '--resume', dir, '--frames', '56', '--threads', '1']);
  expect(again.code, again.err).toBe(0);
  expect(updates(dir)).toEqual([1, 2, 3, 4, 5, 6, 7]);
});
