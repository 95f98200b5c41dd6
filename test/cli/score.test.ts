// `glam score` and `glam init-model` through the real command parser, output captured.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import { runCli } from './run-cli.js';
import { Policy } from '../../lib/policy/policy.js';

const run = runCli;

const fixture = join(__dirname, '..', 'fixtures', 'models', 'llama');

test('glam score --json prints each action with logprob, prob, tokens, and the value; equals the API', async () => {
  const prompt = 'Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\nAction 0: ';
  const r = await run(['score', '--model', fixture, '--prompt', prompt, '--actions', 'turn left|turn right|go forward', '--json', '--threads', '1']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out) as { actions: { text: string; logprob: number; prob: number; tokens: number }[]; value: number };
  expect(j.actions.map((a) => a.text)).toEqual(['turn left', 'turn right', 'go forward']);
  const p = await Policy.load(fixture, { threads: 1 });
  const s = await p.score({ prompts: [prompt], candidates: [['turn left', 'turn right', 'go forward']] });
  await p.dispose();
  j.actions.forEach((a, k) => {
    expect(a.logprob).toBe(s.logprobs[k]);
    expect(a.prob).toBe(s.probs[k]);
    expect(a.tokens).toBe(s.tokens[k]);
  });
  expect(j.value).toBe(s.values[0]);
  expect(j.actions.reduce((a, b) => a + b.prob, 0)).toBeCloseTo(1, 6);
});

test('glam score table output and bad input', async () => {
  const t = await run(['score', '--model', fixture, '--prompt', 'hello', '--actions', 'a|b']);
  expect(t.code).toBe(0);
  expect(t.out).toMatch(/^action\s+logprob\s+prob\s+tokens\n/);
  expect(t.out).toMatch(/value: -?\d/);
  const empty = await run(['score', '--model', fixture, '--prompt', 'hello', '--actions', 'a||b']);
  expect(empty.code).toBe(2);
  expect(empty.err).toMatch(/EmptyCandidate/);
  const missing = await run(['score', '--model', '/nonexistent', '--prompt', 'x', '--actions', 'a']);
  expect(missing.code).toBe(2);
  expect(missing.err).toMatch(/^glam: ConfigMissing: /);
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
  const bad = await run(['init-model', '--arch', 't5', '--out', a]);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--arch/);
});
