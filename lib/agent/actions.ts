// GLAM's candidate action lists (the strings the LLM scores) and their mapping back to MiniGrid action ids.
//
// Subtle:
// - The index in the list IS the MiniGrid action id (left 0, right 1, forward 2, pickup 3, drop 4,
//   toggle 5, done 6). Lists longer than 6 (the "augmented" space) send every index > 6 to 6 (`done`),
//   as llm_ppo_agent.py does with `real_a[real_a > 6] = 6`: a no-op that still costs a step.
// - GLAM's configs spell actions with underscores ("turn_left") and replace "_" by " "; the lists here
//   are already spaced, exactly as they appear in the prompt.
// - The French list is GLAM's dict_translation_actions (base_agent.py) applied to the canonical list.

import { GlamError } from '../errors.js';

/** The canonical 6 GLAM actions. */
export const GLAM_ACTIONS: readonly string[] = Object.freeze(['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle']);

/** Synonym-action test (GLAM config `new_action_space`). */
export const SYNONYM_ACTIONS: readonly string[] = Object.freeze(['rotate left', 'rotate right', 'move ahead', 'take', 'release', 'switch']);

/** The other synonym set named in GLAM's test_results.py. */
export const SYNONYM_ACTIONS_ALT: readonly string[] = Object.freeze(['shift left', 'shift right', 'go ahead', 'take', 'release', 'turn']);

/** GLAM's French actions (base_agent.py dict_translation_actions). */
export const FRENCH_ACTIONS: readonly string[] = Object.freeze(['tourner à gauche', 'tourner à droite', 'aller tout droit', 'attraper', 'lâcher', 'basculer']);

/** Restricted space of the action-space ablation: navigation only. */
export const RESTRICTED_ACTIONS: readonly string[] = Object.freeze(['turn left', 'turn right', 'go forward']);

/** Augmented space of the action-space ablation: 3 useless actions that map to `done`. */
export const AUGMENTED_ACTIONS: readonly string[] = Object.freeze([...GLAM_ACTIONS, 'sleep', 'do nothing', 'think']);

export const ACTION_VOCABULARIES = Object.freeze({
  canonical: GLAM_ACTIONS,
  synonyms: SYNONYM_ACTIONS,
  'synonyms-alt': SYNONYM_ACTIONS_ALT,
  french: FRENCH_ACTIONS,
  restricted: RESTRICTED_ACTIONS,
  augmented: AUGMENTED_ACTIONS,
});
export type ActionVocabularyName = keyof typeof ACTION_VOCABULARIES;

/** MiniGrid's `done`: where every index past the 6 real actions goes. */
export const DONE_ACTION_ID = 6;

/** The list called `name`; throws GlamError('InvalidArgument') listing the valid names otherwise. */
export function getActionVocabulary(name: string): readonly string[] {
  if (typeof name === 'string' && Object.hasOwn(ACTION_VOCABULARIES, name)) {
    return ACTION_VOCABULARIES[name as ActionVocabularyName];
  }
  throw new GlamError('InvalidArgument',
    `Expected one of ${Object.keys(ACTION_VOCABULARIES).join(', ')} for action vocabulary but received ${JSON.stringify(name)}`);
}

/** GLAM's `dict_translation_actions`, in its order (applied as sequential str.replace). */
const FRENCH_TRANSLATION: readonly (readonly [string, string])[] = [
  ['turn left', 'tourner à gauche'], ['turn right', 'tourner à droite'], ['go forward', 'aller tout droit'],
  ['pick up', 'attraper'], ['drop', 'lâcher'], ['toggle', 'basculer'], ['eat', 'manger'], ['dance', 'dancer'],
  ['sleep', 'dormir'], ['do nothing', 'ne rien faire'], ['cut', 'couper'], ['think', 'penser'],
];

/** Translates action names as GLAM's French test does (`prompt_modifier(sg, dict_translation_actions)`). */
export function translateActionsToFrench(actions: readonly string[]): string[] {
  return actions.map((a) => {
    let s = a;
    for (const [from, to] of FRENCH_TRANSLATION) if (s.includes(from)) s = s.split(from).join(to);
    return s;
  });
}

/** MiniGrid action id of candidate `index` (index > 6 → 6 `done`, as GLAM). */
export function actionIdFromIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0) {
    throw new GlamError('InvalidArgument',
      `Expected a non-negative integer for action index but received ${String(index)} of type ${typeof index}`);
  }
  return index > DONE_ACTION_ID ? DONE_ACTION_ID : index;
}

/** MiniGrid action id of the action called `name` in `vocabulary`. */
export function actionIdOf(name: string, vocabulary: readonly string[] = GLAM_ACTIONS): number {
  const index = vocabulary.indexOf(name);
  if (index < 0) {
    throw new GlamError('InvalidArgument',
      `Expected one of ${vocabulary.map((a) => JSON.stringify(a)).join(', ')} for action name but received ${JSON.stringify(name)}`);
  }
  return actionIdFromIndex(index);
}
