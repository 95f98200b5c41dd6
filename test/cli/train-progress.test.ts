// `glam train` progress within an update (issue 11): on a terminal a second bar follows the update in
// flight (its rollout steps, then its gradient steps) and the run's ETA; elsewhere a line per update and,
// within a long update, a line per period (here 0 s, so every step prints one).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, expect, test } from 'vitest';

import { train } from '../../lib/cli/train.js';
import { initModel } from '../../lib/model/init-model.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
let root: string;
let model: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'glam-progress-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
});
const flags = () => ({ model, level: LEVEL, threads: '1', epochs: '2', envs: '2', steps: '4', minibatch: '4', frames: '16' });

test('without a terminal: periodic lines within an update (rollout steps, then gradient steps, with an ETA)', async () => {
  let err = '';
  await train({ ...flags(), run: join(root, 'lines') }, { out: () => {}, err: (s) => void (err += s) }, { periodS: 0 });
  const lines = err.split('\n');
  expect(lines.some((l) => /^update 1\/2: rollout 1\/4 steps {2}ETA \d+s$/.test(l))).toBe(true); // estimated from the first step already
  expect(lines.some((l) => /^update 1\/2: epochs 4\/4 gradient steps {2}ETA \d+s$/.test(l))).toBe(true);
  expect(lines.some((l) => /^update 2\/2: rollout 4\/4 steps {2}ETA \d+s$/.test(l))).toBe(true);
  expect(lines.filter((l) => /^update \d\/2 {2}frames/.test(l))).toHaveLength(2);
});

test('without a terminal and the default period, a short run prints one line per update only', async () => {
  let err = '';
  await train({ ...flags(), run: join(root, 'quiet') }, { out: () => {}, err: (s) => void (err += s) });
  expect(err.split('\n').filter((l) => l.startsWith('update '))).toHaveLength(2);
});

test('on a terminal: a bar for the update in flight and the run ETA', async () => {
  let screen = '';
  const tty = Object.assign(Object.create(null), { isTTY: true, columns: 200, write: (s: string) => { screen += s; return true; } }) as NodeJS.WritableStream;
  await train({ ...flags(), run: join(root, 'tty') }, { out: () => {}, err: () => {} }, { tty });
  expect(screen).toMatch(/update \d: (rollout \d\/4 steps|epochs \d\/4 gradient steps) \| ETA/);
  expect(screen).toMatch(/\| 16\/16 frames \| \d+ frames\/s \| success \S+ \| update 2\/2 \| ETA \d+s/);
});
