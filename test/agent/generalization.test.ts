// GLAM's generalization tests through evaluate(): the prompts a wrapped policy receives are exactly the
// test's prompts (the bot's demos in the same style, template and actions give the reference), the
// random baseline is uniform, and the suite reports Δ against no-change.
import { expect, test } from 'vitest';

import { FRENCH_ACTIONS, GLAM_ACTIONS, SYNONYM_ACTIONS } from '../../lib/agent/actions.js';
import { PROMPT_TEMPLATES } from '../../lib/agent/prompt.js';
import { collectDemos } from '../../lib/agent/demos.js';
import { getStyle } from '../../lib/env/text/style.js';
import type { ScoreRequest, ScoreResult } from '../../lib/policy/score-result.js';
import { RandomPolicy, type Scorer } from '../../lib/agent/baselines.js';
import { evaluate } from '../../lib/agent/evaluate.js';
import {
  evaluateTest, GENERALIZATION_TESTS, promptRewriter, runGeneralizationSuite, selectTests, testScorer,
} from '../../lib/agent/generalization.js';

const LEVEL = 'BabyAI-GoToLocal-v0';
const SEED = 1_000_000;

/** The random policy, recording every request it scores. */
class Recorder implements Scorer {
  readonly requests: ScoreRequest[] = [];
  readonly #inner = new RandomPolicy();
  score(req: ScoreRequest): Promise<ScoreResult> {
    this.requests.push(req);
    return this.#inner.score(req);
  }
}

const byName = (n: string) => GENERALIZATION_TESTS.find((t) => t.name === n)!;

test.each(['no-change', 'french', 'invented-both', 'synonym-actions', 'intro-speaker', 'oov-nouns'])(
  '%s: the first prompt of env 0 is the bot demo prompt of the same episode in the same words', async (name) => {
    const t = byName(name);
    const rec = new Recorder();
    await evaluateTest(rec, t, { level: LEVEL, episodes: 2, seed: SEED, numEnvs: 2 });
    const demo = collectDemos(t.level ?? LEVEL, {
      episodes: 1, seed: SEED, textStyle: t.style, template: t.template, actionNames: t.actions,
    }).next();
    expect(demo.done).toBe(false);
    expect(rec.requests[0]!.prompts[0]).toBe((demo.value as { prompt: string }).prompt);
    expect(rec.requests[0]!.candidates[0]).toEqual([...t.actions]);
  });

test('French prompts: French header, goal, observations and actions', async () => {
  const rec = new Recorder();
  await evaluateTest(rec, byName('french'), { level: LEVEL, episodes: 1, seed: SEED, numEnvs: 1 });
  const p = rec.requests[0]!.prompts[0]!;
  expect(p.startsWith(`Actions possibles pour l'agent: ${FRENCH_ACTIONS.join(', ')} \n But de l'agent: aller à `)).toBe(true);
  expect(p).toMatch(/Tu vois/);
  expect(p).not.toMatch(/Goal of the agent|You see/);
});

test('promptRewriter changes only the head; tests that change neither goal nor template keep the scorer', () => {
  const prompt = `Possible action of the agent: ${GLAM_ACTIONS.join(', ')} \n Goal of the agent: go to the red key \n Observation 0: You see a wall 1 step forward, \n Action 0: `;
  const rw = promptRewriter(GLAM_ACTIONS, getStyle('invented-both'), PROMPT_TEMPLATES['english-intro-agent']);
  expect(rw(prompt)).toBe(`Possible action of the agent: ${GLAM_ACTIONS.join(', ')} \n You have to: go to the faze dax \n Observation 0: You see a wall 1 step forward, \n Action 0: `);
  expect(() => rw('hello')).toThrow(/layout/);
  const s = new RandomPolicy();
  expect(testScorer(s, byName('no-change'))).toBe(s);
  expect(testScorer(s, byName('synonym-actions'))).toBe(s);
  expect(byName('synonym-actions').actions).toBe(SYNONYM_ACTIONS);
});

test('the random baseline samples candidates uniformly and evaluate() runs it like a policy', async () => {
  const rec = new Recorder();
  const r = await evaluate(rec, { level: 'BabyAI-GoToRedBallNoDists-v0', episodes: 40, seed: SEED, numEnvs: 8 });
  expect(r.episodes).toBe(40);
  expect(r.successRate).toBeGreaterThan(0);
  const s = await new RandomPolicy().score({ prompts: ['a', 'b'], candidates: [['x', 'y'], ['x', 'y', 'z', 'w']] });
  expect(Array.from(s.probs)).toEqual([0.5, 0.5, 0.25, 0.25, 0.25, 0.25]);
  expect(Array.from(s.candOffset)).toEqual([0, 2, 6]);
  const again = await evaluate(new RandomPolicy(), { level: 'BabyAI-GoToRedBallNoDists-v0', episodes: 40, seed: SEED, numEnvs: 8 });
  expect(again).toEqual(r); // seeded
});

test('suite: no-change first, Δ against it; test selection', async () => {
  expect(selectTests(['french']).map((t) => t.name)).toEqual(['no-change', 'french']);
  expect(() => selectTests(['klingon'])).toThrow(/klingon/);
  const rows = await runGeneralizationSuite(new RandomPolicy(), { level: 'BabyAI-GoToRedBallNoDists-v0', episodes: 6, seed: SEED, numEnvs: 6, tests: ['synonym-actions', 'composition'] });
  expect(rows.map((r) => r.test)).toEqual(['no-change', 'synonym-actions', 'composition']);
  expect(rows[0]!.delta).toBe(0);
  expect(rows[2]!.level).toBe('BabyAI-PickUpSeqGoToLocal-v0');
  for (const r of rows) expect(r.delta).toBeCloseTo(r.result.successRate - rows[0]!.result.successRate, 12);
  // same episodes and the same uniform sampling: a random policy cannot tell synonyms apart
  expect(rows[1]!.result).toEqual(rows[0]!.result);
});
