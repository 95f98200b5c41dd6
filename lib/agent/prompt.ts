// GLAM's prompt (experiments/agents/base_agent.py::generate_prompt) and the short memory it is built from.
//
// Template, byte for byte (\n is a newline; note the spaces around it and the ", " after EVERY description):
//   "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n Goal of the agent: <goal>"
//   + for each remembered observation i: " \n Observation i: <d1>, <d2>, \n Action i: <action i or nothing>"
// so the prompt ends with "\n Action t: " and the LLM scores each action as its continuation. There is no
// "Next action" line.
//
// Subtle:
// - Memory is two deques, as GLAM: observations (maxlen nbr_obs = 3) and actions (maxlen nbr_obs - 1 = 2),
//   both cleared when an episode ends. Action i is printed under observation i *by position*; with the
//   defaults that is the action taken after observation i. A smaller maxActions keeps GLAM's positional
//   pairing (the newest actions are printed under the oldest observations), as GLAM would.
// - Numbering restarts at 0 in every prompt (it is the position in memory, not the env step).
// - Generalization variants: the words of the observations and goal come from env/text styles
//   (describeView + rewriteMission); the intro rewrites and the French header are PromptTemplates here.
//   GLAM applied them as str.replace over the whole prompt; no substitution key occurs in the template
//   text, so building the pieces already substituted gives the same string.

import { GlamError } from '../errors.js';

/** The two fixed phrases of the prompt. */
export interface PromptTemplate {
  /** Before the action list, e.g. "Possible action of the agent:". */
  readonly actionsHeader: string;
  /** Before ": <goal>", e.g. "Goal of the agent". */
  readonly goalIntro: string;
}

/** GLAM's templates: English, French (generate_prompt_french) and the intro rewrites of post-training_tests.py. */
export const PROMPT_TEMPLATES = Object.freeze({
  'english': Object.freeze({ actionsHeader: 'Possible action of the agent:', goalIntro: 'Goal of the agent' }),
  /** change_intro_first_personne_speaker */
  'english-intro-speaker': Object.freeze({ actionsHeader: 'Possible action of the agent:', goalIntro: 'I would like the agent to' }),
  /** change_intro_first_personne_agent */
  'english-intro-agent': Object.freeze({ actionsHeader: 'Possible action of the agent:', goalIntro: 'You have to' }),
  'french': Object.freeze({ actionsHeader: "Actions possibles pour l'agent:", goalIntro: "But de l'agent" }),
  'french-intro-speaker': Object.freeze({ actionsHeader: "Actions possibles pour l'agent:", goalIntro: "Je veux que l'agent fasse" }),
  'french-intro-agent': Object.freeze({ actionsHeader: "Actions possibles pour l'agent:", goalIntro: 'Tu dois faire' }),
} satisfies Record<string, PromptTemplate>);
export type PromptTemplateName = keyof typeof PROMPT_TEMPLATES;

/** The template called `name`; throws GlamError('InvalidArgument') listing the valid names otherwise. */
export function getPromptTemplate(name: string): PromptTemplate {
  if (typeof name === 'string' && Object.hasOwn(PROMPT_TEMPLATES, name)) return PROMPT_TEMPLATES[name as PromptTemplateName];
  throw new GlamError('InvalidArgument',
    `Expected one of ${Object.keys(PROMPT_TEMPLATES).join(', ')} for prompt template but received ${JSON.stringify(name)}`);
}

/** What a prompt remembers, oldest first: observations[k] is one describeView() list. */
export interface PromptMemory {
  readonly observations: readonly (readonly string[])[];
  readonly actions: readonly string[];
}

function invalid(what: string, expected: string, value: unknown): GlamError {
  return new GlamError('InvalidArgument', `Expected ${expected} for ${what} but received ${String(value)} of type ${typeof value}`);
}

/**
 * GLAM's prompt for one decision.
 * @param goal     the mission as the agent reads it (rewriteMission(mission, style)).
 * @param actions  candidate action names, in MiniGrid id order (listed in the header).
 * @param memory   remembered observations (≥ 1, the last is the current one) and actions (≤ observations).
 * @param template header and goal intro (default GLAM's English).
 */
export function buildPrompt(
  goal: string,
  actions: readonly string[],
  memory: PromptMemory,
  template: PromptTemplate = PROMPT_TEMPLATES.english,
): string {
  if (typeof goal !== 'string') throw invalid('goal', 'a string', goal);
  if (!Array.isArray(actions) || actions.length === 0) throw invalid('actions', 'a non-empty array of action names', actions);
  if (memory == null || !Array.isArray(memory.observations) || !Array.isArray(memory.actions)) {
    throw invalid('memory', 'a { observations, actions } object (e.g. a PromptHistory)', memory);
  }
  const obs = memory.observations;
  const acts = memory.actions;
  if (obs.length === 0) throw invalid('memory.observations', 'at least one observation (push the reset observation first)', '[]');
  if (acts.length > obs.length) {
    throw invalid('memory.actions', `at most ${obs.length} actions (one per observation)`, `${acts.length} actions`);
  }
  let s = template.actionsHeader;
  for (let k = 0; k < actions.length; k++) s += (k === 0 ? ' ' : ', ') + actions[k];
  s += ` \n ${template.goalIntro}: ${goal}`;
  for (let i = 0; i < obs.length; i++) {
    s += ` \n Observation ${i}: `;
    const d = obs[i]!;
    for (let k = 0; k < d.length; k++) s += d[k] + ', ';
    s += `\n Action ${i}: `;
    if (i < acts.length) s += acts[i];
  }
  return s;
}

export interface PromptHistoryOptions {
  /** Observations remembered, the current one included (GLAM `nbr_obs`, default 3). */
  readonly maxObservations?: number;
  /** Actions remembered (default maxObservations - 1, GLAM's; at most that). */
  readonly maxActions?: number;
}

/**
 * GLAM's obs_queue / acts_queue for one env. A rollout does: reset(descriptions) after env.reset(); then per
 * step buildPrompt(...), pushAction(chosen), env.step, and reset(descriptions) if the episode ended, else
 * pushObservation(descriptions).
 */
export class PromptHistory implements PromptMemory {
  readonly maxObservations: number;
  readonly maxActions: number;
  readonly #observations: (readonly string[])[] = [];
  readonly #actions: string[] = [];

  constructor(options: PromptHistoryOptions = {}) {
    const maxObs = options.maxObservations ?? 3;
    if (!Number.isInteger(maxObs) || maxObs < 1) throw invalid('maxObservations', 'a positive integer', maxObs);
    const maxActs = options.maxActions ?? maxObs - 1;
    if (!Number.isInteger(maxActs) || maxActs < 0 || maxActs > maxObs - 1) {
      throw invalid('maxActions', `an integer in [0, ${maxObs - 1}] (maxObservations - 1)`, maxActs);
    }
    this.maxObservations = maxObs;
    this.maxActions = maxActs;
  }

  get observations(): readonly (readonly string[])[] { return this.#observations; }
  get actions(): readonly string[] { return this.#actions; }

  /** Remembers one observation (a describeView() list), forgetting the oldest beyond maxObservations. */
  pushObservation(descriptions: readonly string[]): void {
    if (!Array.isArray(descriptions)) throw invalid('descriptions', 'an array of strings', descriptions);
    this.#observations.push(descriptions);
    if (this.#observations.length > this.maxObservations) this.#observations.shift();
  }

  /** Remembers the action taken, forgetting the oldest beyond maxActions. */
  pushAction(action: string): void {
    if (typeof action !== 'string') throw invalid('action', 'an action name', action);
    if (this.maxActions === 0) return;
    this.#actions.push(action);
    if (this.#actions.length > this.maxActions) this.#actions.shift();
  }

  /** Forgets everything (GLAM clears both queues when an episode ends). */
  clear(): void {
    this.#observations.length = 0;
    this.#actions.length = 0;
  }

  /** Starts a new episode from its first observation. */
  reset(descriptions: readonly string[]): void {
    this.clear();
    this.pushObservation(descriptions);
  }
}
