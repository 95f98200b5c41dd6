// `glam eval` and `glam plot` through the real command parser: JSON fields, the random and zero-shot
// baselines, the run's level as default, the generalization table and JSON, bad input exiting 2.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, test } from 'vitest';

import { runCli } from './run-cli.js';
import { evalCommand } from '../../lib/cli/eval.js';
import { initModel } from '../../lib/model/init-model.js';
import { Policy } from '../../lib/policy/policy.js';
import { RandomPolicy } from '../../lib/agent/baselines.js';
import { evaluate } from '../../lib/agent/evaluate.js';
import { checkXml } from '../ppo/xml-check.js';

const run = runCli;

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
let root: string;
let model: string;
let runDir: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glam-eval-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 9 });
  runDir = join(root, 'run');
  const r = await run(['train', '--model', model, '--level', LEVEL, '--threads', '1', '--epochs', '1', '--envs', '2', '--steps', '4', '--frames', '8', '--run', runDir]);
  expect(r.code, r.err).toBe(0);
});

test('--json: policy, level, episodes, greedy, seed, tokenization, success rate with its 95% interval, mean return and length', async () => {
  const r = await run(['eval', '--policy', join(runDir, 'final'), '--level', LEVEL, '--episodes', '4', '--envs', '4', '--greedy', '--json', '--seed', '7', '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out);
  expect(Object.keys(j)).toEqual(['policy', 'kind', 'level', 'episodes', 'greedy', 'seed', 'tokenization', 'successRate', 'ci95', 'meanReturn', 'meanLength']);
  expect(j).toMatchObject({ policy: join(runDir, 'final'), kind: 'policy', level: LEVEL, episodes: 4, greedy: true, seed: 7, tokenization: 'separate' });
  expect(j.successRate).toBeGreaterThanOrEqual(0);
  expect(j.ci95[0]).toBeLessThanOrEqual(j.successRate);
  expect(j.ci95[1]).toBeGreaterThanOrEqual(j.successRate);
  expect(j.meanLength).toBeGreaterThan(0);
  // the same numbers as evaluate() on the loaded policy, with the prompts of the run (the small preset's 1-observation memory)
  const memory = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).ppo.memory;
  expect(memory).toEqual({ observations: 1, actions: 0 });
  const p = await Policy.load(join(runDir, 'final'), { threads: 1 });
  const e = await evaluate(p, { level: LEVEL, episodes: 4, numEnvs: 4, greedy: true, seed: 7, memory });
  await p.dispose();
  expect([j.successRate, j.meanReturn, j.meanLength]).toEqual([e.successRate, e.meanReturn, e.meanLength]);
});

test('a run directory as --policy means its final/', async () => {
  const r = await run(['eval', '--policy', runDir, '--episodes', '2', '--envs', '2', '--json', '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  expect(JSON.parse(r.out)).toMatchObject({ policy: join(runDir, 'final'), level: LEVEL });
});

test('the level defaults to the run\'s; table output', async () => {
  const r = await run(['eval', '--policy', join(runDir, 'final'), '--episodes', '2', '--envs', '2', '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(new RegExp(`^policy +.*final\\nlevel +${LEVEL}\\nactions +sampled\\nepisodes +2 \\(seed 1000000\\)\\ntokens +separate tokenization\\nsuccess +\\d\\.\\d{3} +\\(95% CI \\d\\.\\d{3}-\\d\\.\\d{3}\\)\\nreturn +\\S+\\nlength +\\S+\\n$`));
});

test('random baseline: uniform sampling, the same numbers as evaluate() of RandomPolicy; zero-shot', async () => {
  const r = await run(['eval', '--policy', 'random', '--level', LEVEL, '--episodes', '30', '--envs', '10', '--json']);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out);
  expect(j).toMatchObject({ kind: 'random', policy: 'random (uniform over candidates)', greedy: false, episodes: 30 });
  const e = await evaluate(new RandomPolicy(), { level: LEVEL, episodes: 30, numEnvs: 10 });
  expect(j.successRate).toBe(e.successRate);
  expect(j.successRate).toBeGreaterThan(0); // a random walk finds the only object in an empty room now and then
  const z = await run(['eval', '--policy', 'zero-shot', '--model', model, '--level', LEVEL, '--episodes', '2', '--envs', '2', '--json', '--threads', '1']);
  expect(z.code, z.err).toBe(0);
  expect(JSON.parse(z.out)).toMatchObject({ kind: 'zero-shot', policy: `zero-shot (untrained) ${model}` });
  const g = await run(['eval', '--policy', 'random', '--level', LEVEL, '--greedy']);
  expect(g.code).toBe(2);
  expect(g.err).toMatch(/--greedy does not apply to the random policy/);
});

test('--suite generalization: table with Δ vs no change, and JSON', async () => {
  const t = await run(['eval', '--suite', 'generalization', '--policy', 'random', '--level', LEVEL, '--tests', 'french,composition', '--episodes', '3', '--envs', '3']);
  expect(t.code, t.err).toBe(0);
  const lines = t.out.trim().split('\n');
  expect(lines[1]).toMatch(/^test +level +success +95% CI +Δ vs no change$/);
  expect(lines[2]).toMatch(new RegExp(`^no-change +${LEVEL} +\\d\\.\\d{3} +\\[\\d\\.\\d{3}, \\d\\.\\d{3}\\] *$`));
  expect(lines[3]).toMatch(/^composition +BabyAI-PickUpSeqGoToLocal-v0 +\d\.\d{3} +\[.*\] +[+-]\d\.\d{3}$/);
  expect(lines[4]).toMatch(/^french +/);
  const j = await run(['eval', '--suite', 'generalization', '--policy', 'random', '--level', LEVEL, '--tests', 'oov-nouns', '--episodes', '3', '--envs', '3', '--json']);
  expect(j.code, j.err).toBe(0);
  const o = JSON.parse(j.out);
  expect(o.tests.map((x: { test: string }) => x.test)).toEqual(['no-change', 'oov-nouns']);
  expect(Object.keys(o.tests[1])).toEqual(['test', 'glamName', 'level', 'successRate', 'ci95', 'meanReturn', 'meanLength', 'delta']);
  expect(o.tests[1].glamName).toBe('other_name_same_categories');
});

test('bad input exits 2 with one line', async () => {
  const empty = join(root, 'empty');
  mkdirSync(empty);
  for (const [args, message] of [
    [['--policy', join(root, 'nope'), '--level', LEVEL], /^glam: ConfigMissing: .*does not exist/],
    [['--policy', '/nonexistent'], /^glam: ConfigMissing: Expected a policy directory, 'random' or 'zero-shot' for --policy but "\/nonexistent" does not exist\n$/],
    [['--policy', empty, '--level', LEVEL], /^glam: ConfigMissing/],
    [['--policy', 'random', '--level', 'Nowhere'], /--level/],
    [['--policy', 'random'], /Expected --level/],
    [['--level', LEVEL], /--policy/],
    [['--policy', 'random', '--level', LEVEL, '--episodes', '0'], /--episodes/],
    [['--suite', 'robustness', '--policy', 'random'], /--suite/],
    [['--suite', 'generalization', '--policy', 'random', '--tests', 'klingon'], /klingon/],
    [['--policy', 'random', '--level', LEVEL, '--tests', 'french'], /--tests selects/],
    [['--policy', 'random', '--level', LEVEL, '--model', model], /--model names/],
  ] as [string[], RegExp][]) {
    const r = await run(['eval', ...args]);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  }
});

test('glam plot overlays runs into one SVG; a directory without metrics exits 2', async () => {
  const out = join(root, 'both.svg');
  const r = await run(['plot', runDir, runDir + '/', '--out', out, '--title', 'two & more']);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/^wrote .*both\.svg \(2 runs, \d+ success-rate points\)\n$/);
  const svg = readFileSync(out, 'utf8');
  checkXml(svg);
  expect(svg).toContain('two &amp; more');
  expect(svg.match(/<text [^>]*>[^<]*run \(ppo\)( \(no data\))?<\/text>/g)).toHaveLength(2); // labelled by path: run, run/
  const one = await run(['plot', runDir, '--smooth', '0.6']);
  expect(one.code, one.err).toBe(0);
  expect(one.out).toContain(join(runDir, 'curve.svg'));
  const bad = await run(['plot', root]);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/ConfigMissing: .*metrics\.jsonl/);
  const smooth = await run(['plot', runDir, '--smooth', '1']);
  expect(smooth.code).toBe(2);
});

describe('progress on stderr; stdout unchanged', () => {
  const capture = () => {
    const io = { out: '', err: '' };
    return { io, cli: { out: (t: string) => void (io.out += t), err: (t: string) => void (io.err += t) } };
  };
  const flags = { policy: 'random', level: LEVEL, episodes: '12', envs: '4', json: true };

  test('without a terminal: periodic lines (here one per episode) with episodes, success so far and an ETA', async () => {
    const { io, cli } = capture();
    await evalCommand(flags, cli, { progressEveryMs: 0 });
    const r = await run(['eval', '--policy', 'random', '--level', LEVEL, '--episodes', '12', '--envs', '4', '--json']);
    expect(io.out).toBe(r.out); // the result is the same
    expect(r.err).toBe(''); // and the default (every 10 s) says nothing in a short run
    const lines = io.err.trimEnd().split('\n');
    expect(lines).toHaveLength(11); // episodes 1..11; the 12th is the result
    lines.forEach((l, k) => expect(l).toMatch(new RegExp(`^eval: ${k + 1}/12 episodes  success \\d\\.\\d{3}  \\d+\\.\\d episodes/s  ETA \\S+$`)));
    const wins = Math.round(JSON.parse(io.out).successRate * 12);
    const winsAfter11 = Math.round(Number(/success (\S+)/.exec(lines[10]!)![1]) * 11);
    expect([wins - 1, wins]).toContain(winsAfter11); // the success so far: the 12th episode adds at most one win
  });

  test('the suite: one line stream per test, named, before its row', async () => {
    const { io, cli } = capture();
    await evalCommand({ ...flags, json: false, suite: 'generalization', tests: 'french', episodes: '3', envs: '3' }, cli, { progressEveryMs: 0 });
    expect(io.err).toMatch(/^eval no-change \(1\/2\): 1\/3 episodes .*\neval no-change \(1\/2\): 2\/3 episodes .*\neval french \(2\/2\): 1\/3 episodes /);
    expect(io.out.trim().split('\n')).toHaveLength(4);
  });

  test('on a terminal: a bar with episodes, success and ETA, cleared when done', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 160 });
    let drawn = '';
    tty.on('data', (d: Buffer) => void (drawn += d.toString()));
    const { io, cli } = capture();
    await evalCommand({ ...flags, episodes: '40' }, cli, { tty });
    expect(drawn).toMatch(/eval .* \d+\/40 episodes \| success (-|\d\.\d{3}) \| (-|\d+\.\d) episodes\/s \| ETA /);
    expect(io.err).toBe('');
    expect(JSON.parse(io.out).episodes).toBe(40);
  });
});
