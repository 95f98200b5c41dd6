// GLAM's generalization tests (experiments/post-training_tests.py; paper Fig. 4, Q2 objects and Q3 tasks):
// the same policy evaluated with the words of the prompt changed (nouns, adjectives, actions, language,
// the goal's intro) or on task compositions it never trained on, each reported against "no change".
//
//   test                 what changes (GLAM's name)
//   no-change            nothing (no_modification_test)
//   oov-nouns            key→chair, ball→table, box→car (other_name_same_categories)
//   invented-nouns       key→dax, ball→xolo, box→afze (no_meaning_nouns)
//   invented-adjectives  colours→faze, jatu, croh, vurst, gakul, sil (no_meaning_adj)
//   invented-both        both of the above (no_meaning_words)
//   synonym-adjectives   colours→vermilion, jade, cyan, violet, golden, silver (adj_synonym)
//   synonym-actions      rotate left, rotate right, move ahead, take, release, switch (new_action_space)
//   intro-speaker        "Goal of the agent" → "I would like the agent to" (change_intro_first_personne_speaker)
//   intro-agent          "Goal of the agent" → "You have to" (change_intro_first_personne_agent)
//   composition          BabyAI-PickUpSeqGoToLocal-v0: "pick up A then/after go to B" (new compositions)
//   composition-after    BabyAI-GoToAfterPickUpLocal-v0: "go to B after you pick up A"
//   held-out-pairs       BabyAI-MixedTestLocal-v0: GLAM's test mixture, held-out colour-noun pairs only
//   french               French observations, goal, header and actions (language='french')
//
// Subtle:
// - evaluate() is used unchanged: observation words come from its textStyle option, candidate actions
//   from its actions option; what it cannot change, the goal's words and the prompt template, is changed
//   by wrapping the scorer: each prompt LlmAgent builds (GLAM's English template around the raw mission)
//   is rebuilt with the test's template around rewriteMission(mission, style). That is the prompt
//   buildPrompt gives for the styled goal (checked by test), as GLAM's prompt_modifier gave it by
//   str.replace over the whole prompt.
// - Every test uses the same evaluation seed, so the word tests replay the same episodes as no-change
//   (a paired comparison); the composition tests have their own levels. Δ is the absolute difference of
//   success rates (test − no change).
import { FRENCH_ACTIONS, GLAM_ACTIONS, SYNONYM_ACTIONS } from './actions.js';
import { buildPrompt, PROMPT_TEMPLATES, type PromptTemplate } from './prompt.js';
import { DEFAULT_STYLE, getStyle, rewriteMission, type TextStyle } from '../env/text/style.js';
import { GlamError } from '../errors.js';
import type { ScoreBatch, Scorer } from './scorer.js';
import { evaluate, type EvalResult } from './evaluate.js';

export interface GeneralizationTest {
  readonly name: string;
  /** GLAM's name for it. */
  readonly glamName: string;
  /** A fixed level (composition tests); otherwise the suite's base level. */
  readonly level?: string;
  readonly style: TextStyle;
  readonly actions: readonly string[];
  readonly template: PromptTemplate;
}

const EN = PROMPT_TEMPLATES.english;

function test(name: string, glamName: string, o: Partial<Omit<GeneralizationTest, 'name' | 'glamName'>> = {}): GeneralizationTest {
  return Object.freeze({ name, glamName, style: DEFAULT_STYLE, actions: GLAM_ACTIONS, template: EN, ...o });
}

/** The suite, in report order; no-change first (the reference of every Δ). */
export const GENERALIZATION_TESTS: readonly GeneralizationTest[] = Object.freeze([
  test('no-change', 'no_modification_test'),
  test('oov-nouns', 'other_name_same_categories', { style: getStyle('oov-nouns') }),
  test('invented-nouns', 'no_meaning_nouns', { style: getStyle('invented-nouns') }),
  test('invented-adjectives', 'no_meaning_adj', { style: getStyle('invented-adjectives') }),
  test('invented-both', 'no_meaning_words', { style: getStyle('invented-both') }),
  test('synonym-adjectives', 'adj_synonym', { style: getStyle('synonym-adjectives') }),
  test('synonym-actions', 'new_action_space', { actions: SYNONYM_ACTIONS }),
  test('intro-speaker', 'change_intro_first_personne_speaker', { template: PROMPT_TEMPLATES['english-intro-speaker'] }),
  test('intro-agent', 'change_intro_first_personne_agent', { template: PROMPT_TEMPLATES['english-intro-agent'] }),
  test('composition', 'new compositions (pick up then/after go to)', { level: 'BabyAI-PickUpSeqGoToLocal-v0' }),
  test('composition-after', 'new compositions (go to after pick up)', { level: 'BabyAI-GoToAfterPickUpLocal-v0' }),
  test('held-out-pairs', 'MixedTestLocal (held-out colour-noun pairs)', { level: 'BabyAI-MixedTestLocal-v0' }),
  test('french', "language='french'", { style: getStyle('french'), actions: FRENCH_ACTIONS, template: PROMPT_TEMPLATES.french }),
]);

/** The tests called `names` (no-change always included, first); all of them when names is undefined. */
export function selectTests(names?: readonly string[]): GeneralizationTest[] {
  if (names === undefined) return [...GENERALIZATION_TESTS];
  for (const n of names) {
    if (!GENERALIZATION_TESTS.some((t) => t.name === n)) {
      throw new GlamError('InvalidArgument', `Expected one of ${GENERALIZATION_TESTS.map((t) => t.name).join(', ')} for a generalization test but received ${JSON.stringify(n)}`);
    }
  }
  return GENERALIZATION_TESTS.filter((t) => t.name === 'no-change' || names.includes(t.name));
}

// Everything of a prompt before " \n Observation 0: ": header, actions and the goal line.
const OBS0 = ' \n Observation 0: ';
function promptHead(goal: string, actions: readonly string[], template: PromptTemplate): string {
  const full = buildPrompt(goal, actions, { observations: [[]], actions: [] }, template);
  return full.slice(0, full.length - (OBS0 + '\n Action 0: ').length);
}

/**
 * The rewrite from the prompt LlmAgent builds (English template, raw mission) to the test's prompt
 * (its template, the mission rewritten in its style); observations and actions are left as they are.
 */
export function promptRewriter(actions: readonly string[], style: TextStyle, template: PromptTemplate): (prompt: string) => string {
  const prefix = promptHead('', actions, EN);
  return (prompt) => {
    const end = prompt.indexOf(OBS0, prefix.length);
    if (!prompt.startsWith(prefix) || end < 0) {
      throw new GlamError('Internal', `generalization: a prompt does not have GLAM's layout: ${JSON.stringify(prompt.slice(0, 120))}`);
    }
    return promptHead(rewriteMission(prompt.slice(prefix.length, end), style), actions, template) + prompt.slice(end);
  };
}

/** `scorer` seeing every prompt rewritten for the test (itself when the test changes neither goal nor template). */
export function testScorer(scorer: Scorer, t: Pick<GeneralizationTest, 'actions' | 'style' | 'template'>): Scorer {
  if (t.style.substitutions.length === 0 && t.style.language === 'english' && t.template === EN) return scorer;
  const rewrite = promptRewriter(t.actions, t.style, t.template);
  return { score: (req: ScoreBatch) => scorer.score({ ...req, prompts: req.prompts.map(rewrite) }) };
}

export interface VariantOptions {
  level: string;
  episodes: number;
  greedy?: boolean;
  seed?: number;
  numEnvs?: number;
  memory?: { observations: number; actions: number };
  onEpisode?: (episodes: number, successes: number) => void;
}

/** evaluate() of `scorer` under test `t` (its level, words, actions and template). */
export function evaluateTest(scorer: Scorer, t: GeneralizationTest, o: VariantOptions): Promise<EvalResult> {
  return evaluate(testScorer(scorer, t), {
    ...o, level: t.level ?? o.level, actions: t.actions, ...(t.style === DEFAULT_STYLE ? {} : { textStyle: t.style }),
  });
}

export interface SuiteRow {
  test: string;
  glamName: string;
  level: string;
  result: EvalResult;
  /** successRate − no-change's successRate. */
  delta: number;
}

/** Runs the selected tests (no-change first); onRow reports each as it finishes. */
export async function runGeneralizationSuite(
  scorer: Scorer, o: VariantOptions & { tests?: readonly string[]; onRow?: (r: SuiteRow) => void },
): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  let base = NaN;
  for (const t of selectTests(o.tests)) {
    const result = await evaluateTest(scorer, t, o);
    if (t.name === 'no-change') base = result.successRate;
    const row: SuiteRow = { test: t.name, glamName: t.glamName, level: t.level ?? o.level, result, delta: result.successRate - base };
    rows.push(row);
    o.onRow?.(row);
  }
  return rows;
}
