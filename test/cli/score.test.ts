// `glam score` and `glam init-model` through the real command parser, output captured: results equal
// the API's; action texts kept exactly; --actions-file (JSON or lines); an untrained value head said
// so; a run directory as --model pointed at its final/; init-model refusing a non-empty --out.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { runCli } from './run-cli.js';
import { readActions } from '../../lib/cli/score.js';
import { GlamError } from '../../lib/errors.js';
import { Policy } from '../../lib/policy/policy.js';

const run = runCli;

const fixture = join(__dirname, '..', 'fixtures', 'models', 'llama');
let root: string;
let trained: string; // a policy directory with a trained value head (a checkpoint after one step)

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glam-score-'));
  trained = join(root, 'trained');
  const p = await Policy.load(fixture, { threads: 1 });
  p.enableTraining({ mode: 'full' });
  const f = await p.forward({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }, { grad: true });
  await p.backward(f.handle, [1, -1], [1]);
  await p.step({ lr: 1e-3 });
  await p.save(trained);
  await p.dispose();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ScoreJson { actions: { text: string; logprob: number; prob: number; tokens: number }[]; value: number | null; valueTrained: boolean }

async function apiScore(dir: string, prompt: string, actions: string[]) {
  const p = await Policy.load(dir, { threads: 1 });
  try {
    return { s: await p.score({ prompts: [prompt], candidates: [actions] }), trained: p.valueHeadTrained };
  } finally {
    await p.dispose();
  }
}

test('glam score --json prints each action with logprob, prob, tokens; equals the API; an untrained value head is null', async () => {
  const prompt = 'Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\nAction 0: ';
  const actions = ['turn left', 'turn right', 'go forward'];
  const r = await run(['score', '--model', fixture, '--prompt', prompt, '--actions', actions.join('|'), '--json', '--threads', '1']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out) as ScoreJson;
  expect(j.actions.map((a) => a.text)).toEqual(actions);
  const { s, trained: fixtureTrained } = await apiScore(fixture, prompt, actions);
  j.actions.forEach((a, k) => {
    expect(a.logprob).toBe(s.logprobs[k]);
    expect(a.prob).toBe(s.probs[k]);
    expect(a.tokens).toBe(s.tokens[k]);
  });
  expect(j.actions.reduce((a, b) => a + b.prob, 0)).toBeCloseTo(1, 6);
  expect(fixtureTrained).toBe(false); // the fixture has no value_head.safetensors
  expect(j.value).toBeNull();
  expect(j.valueTrained).toBe(false);
});

test('a trained value head is printed: the value equals the API', async () => {
  const r = await run(['score', '--model', trained, '--prompt', 'go to the red ball', '--actions', 'turn left|go forward', '--json', '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out) as ScoreJson;
  const { s, trained: isTrained } = await apiScore(trained, 'go to the red ball', ['turn left', 'go forward']);
  expect(isTrained).toBe(true);
  expect(j.valueTrained).toBe(true);
  expect(j.value).toBe(s.values[0]);
  const t = await run(['score', '--model', trained, '--prompt', 'go to the red ball', '--actions', 'turn left|go forward', '--threads', '1']);
  expect(t.out).toMatch(new RegExp(`\\nvalue: ${s.values[0]!.toFixed(6).replace('.', '\\.')}\\n$`));
});

test('each action keeps its exact text: " Paris" is scored as " Paris", not "Paris"', async () => {
  const prompt = 'The capital of France is';
  const gpt2 = join(__dirname, '..', 'fixtures', 'models', 'gpt2'); // byte-level BPE: " Paris" and "Paris" are different tokens
  const r = await run(['score', '--model', gpt2, '--prompt', prompt, '--actions', ' Paris| London', '--json', '--threads', '1']);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out) as ScoreJson;
  expect(j.actions.map((a) => a.text)).toEqual([' Paris', ' London']);
  const exact = (await apiScore(gpt2, prompt, [' Paris', ' London'])).s;
  const trimmed = (await apiScore(gpt2, prompt, ['Paris', 'London'])).s;
  expect(j.actions.map((a) => a.logprob)).toEqual(Array.from(exact.logprobs));
  expect(Array.from(exact.logprobs)).not.toEqual(Array.from(trimmed.logprobs)); // the space is a different token
  // the table shows texts as JSON strings, so leading spaces are visible
  const t = await run(['score', '--model', gpt2, '--prompt', prompt, '--actions', ' Paris| London', '--threads', '1']);
  expect(t.out.split('\n')[1]).toMatch(/^" Paris" +-?\d/);
});

test('--actions-file: a JSON array or one action per line (CRLF, final newline), the same scores as --actions', async () => {
  const actions = [' Paris', 'London', 'a|b', '[x]'];
  const json = join(root, 'actions.json');
  writeFileSync(json, `  ${JSON.stringify(actions)}\n`);
  const lines = join(root, 'actions.txt');
  writeFileSync(lines, ['go forward', ' turn left', 'pick up'].join('\r\n') + '\r\n');
  expect(readActions({ actionsFile: json })).toEqual(actions);
  expect(readActions({ actionsFile: lines })).toEqual(['go forward', ' turn left', 'pick up']);
  expect(readActions({ actionsFile: '-' }, () => 'x\ny')).toEqual(['x', 'y']);
  const fromFile = await run(['score', '--model', fixture, '--prompt', 'hi', '--actions-file', lines, '--json', '--threads', '1']);
  const fromFlag = await run(['score', '--model', fixture, '--prompt', 'hi', '--actions', 'go forward| turn left|pick up', '--json', '--threads', '1']);
  expect(fromFile.code, fromFile.err).toBe(0);
  expect(fromFile.out).toBe(fromFlag.out);
  const many = Array.from({ length: 2000 }, (_, k) => `action ${k}`);
  writeFileSync(json, JSON.stringify(many));
  const big = await run(['score', '--model', fixture, '--prompt', 'hi', '--actions-file', json, '--json', '--threads', '1']);
  expect(big.code, big.err).toBe(0);
  expect((JSON.parse(big.out) as ScoreJson).actions.map((a) => a.text)).toEqual(many);
});

test('bad actions: empty ones, both or neither flag, unreadable or malformed files', async () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return `${(e as GlamError).code}: ${(e as GlamError).message}`;
    }
    return 'ok';
  };
  const file = (name: string, text: string) => {
    writeFileSync(join(root, name), text);
    return join(root, name);
  };
  expect(code(() => readActions({ actions: 'a||b' }))).toMatch(/^EmptyCandidate: .*number 2/);
  expect(code(() => readActions({ actions: 'a', actionsFile: 'x' }))).toMatch(/^InvalidArgument: Expected one of --actions/);
  expect(code(() => readActions({}))).toMatch(/^InvalidArgument: Expected one of --actions/);
  expect(code(() => readActions({ actionsFile: join(root, 'none.txt') }))).toMatch(/^InvalidArgument: cannot read --actions-file .*none\.txt/);
  expect(code(() => readActions({ actionsFile: file('gap.txt', 'a\n\nb\n') }))).toMatch(/^EmptyCandidate: line 2 of/);
  expect(code(() => readActions({ actionsFile: file('empty.txt', '') }))).toMatch(/^EmptyCandidates: /);
  expect(code(() => readActions({ actionsFile: file('bad.json', '["a", ') }))).toMatch(/^InvalidArgument: .*not valid JSON/);
  expect(code(() => readActions({ actionsFile: file('num.json', '["a", 3]') }))).toMatch(/^InvalidArgument: Expected a string for action 1 .* received 3/);
  expect(code(() => readActions({ actionsFile: file('blank.json', '["a", ""]') }))).toMatch(/^EmptyCandidate: action 1/);
  expect(code(() => readActions({ actionsFile: file('none.json', '[]') }))).toMatch(/^EmptyCandidates: /);
  const empty = await run(['score', '--model', fixture, '--prompt', 'hello', '--actions', 'a||b']);
  expect(empty.code).toBe(2);
  expect(empty.err).toMatch(/^glam: EmptyCandidate: /);
  const neither = await run(['score', '--model', fixture, '--prompt', 'hello']);
  expect(neither.code).toBe(2);
  expect(neither.err).toMatch(/--actions-file/);
});

test('table output; a missing model, a run directory as the model, bad --threads', async () => {
  const t = await run(['score', '--model', fixture, '--prompt', 'hello', '--actions', 'a|b']);
  expect(t.code).toBe(0);
  expect(t.out).toMatch(/^action\s+logprob\s+prob\s+tokens\n"a" /);
  expect(t.out).toMatch(/\nvalue: untrained \(no value_head\.safetensors in .*llama; a trained policy's directory has one\)\n$/);
  const missing = await run(['score', '--model', '/nonexistent', '--prompt', 'x', '--actions', 'a']);
  expect(missing.code).toBe(2);
  expect(missing.err).toMatch(/^glam: ConfigMissing: /);
  const runDir = join(root, 'run');
  const tr = await run(['train', '--model', fixture, '--level', 'BabyAI-GoToRedBallNoDists-v0', '--threads', '1', '--epochs', '1', '--envs', '2',
    '--steps', '2', '--frames', '4', '--run', runDir]);
  expect(tr.code, tr.err).toBe(0);
  const asModel = await run(['score', '--model', runDir, '--prompt', 'x', '--actions', 'a']);
  expect(asModel.code).toBe(2);
  expect(asModel.err).toBe(`glam: ConfigInvalid: ${runDir} is a glam training run, not a model directory: pass ${join(runDir, 'final')} ` +
    `(the run's trained policy) or one of its checkpoints under ${join(runDir, 'checkpoints')}.\n`);
  const fin = await run(['score', '--model', join(runDir, 'final'), '--prompt', 'x', '--actions', 'a', '--json']);
  expect(fin.code, fin.err).toBe(0);
  expect((JSON.parse(fin.out) as ScoreJson).valueTrained).toBe(true);
  const threads = await run(['score', '--model', fixture, '--prompt', 'x', '--actions', 'a', '--threads', 'zero']);
  expect(threads.code).toBe(2);
  expect(threads.err).toMatch(/--threads/);
});

test('glam init-model writes a directory the engine loads; same seed, same scores', async () => {
  const a = mkdtempSync(join(tmpdir(), 'glam-init-'));
  const b = mkdtempSync(join(tmpdir(), 'glam-init-'));
  for (const d of [a, b]) {
    const r = await run(['init-model', '--arch', 'llama', '--layers', '2', '--hidden', '64', '--heads', '4', '--out', d, '--seed', '7']);
    expect(r.code).toBe(0);
  }
  const pa = await Policy.load(a, { threads: 1 });
  const pb = await Policy.load(b, { threads: 1 });
  const req = { prompts: ['Goal of the agent: pick up the blue key'], candidates: [['pick up', 'toggle', 'go forward']] };
  const [sa, sb] = [await pa.score(req), await pb.score(req)];
  expect(Array.from(sa.logprobs)).toEqual(Array.from(sb.logprobs));
  await pa.dispose();
  await pb.dispose();
  const bad = await run(['init-model', '--arch', 'bert', '--out', a]);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--arch/);
});

test('glam init-model refuses a non-empty --out without --force; --force replaces the model and its stale files', async () => {
  const dir = join(root, 'model-to-keep');
  mkdirSync(dir);
  const first = await run(['init-model', '--layers', '1', '--hidden', '32', '--heads', '2', '--out', dir, '--seed', '1']);
  expect(first.code, first.err).toBe(0);
  const before = await apiScore(dir, 'hello', ['a', 'b']);
  const weights = readFileSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'value_head.safetensors'), 'stale'); // as a trained model's directory would hold
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  const again = await run(['init-model', '--layers', '1', '--hidden', '32', '--heads', '2', '--out', dir, '--seed', '2']);
  expect(again.code).toBe(2);
  expect(again.err).toMatch(/^glam: InvalidArgument: --out .*model-to-keep is not empty \(.*config\.json.*\); choose a new directory, or pass --force/);
  expect(readFileSync(join(dir, 'model.safetensors')).equals(weights)).toBe(true); // untouched
  const forced = await run(['init-model', '--layers', '1', '--hidden', '32', '--heads', '2', '--out', dir, '--seed', '2', '--force']);
  expect(forced.code, forced.err).toBe(0);
  expect(existsSync(join(dir, 'value_head.safetensors'))).toBe(false);
  expect(readdirSync(dir)).toContain('notes.txt'); // files that are not a model's are left alone
  const after = await apiScore(dir, 'hello', ['a', 'b']);
  expect(Array.from(after.s.logprobs)).not.toEqual(Array.from(before.s.logprobs));
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const onFile = await run(['init-model', '--out', file, '--force']);
  expect(onFile.code).toBe(2);
  expect(onFile.err).toMatch(/is a file/);
});
