// Text styles of BabyAI-Text: the language and the words describe.ts renders with, and the named presets of
// GLAM's generalization tests (post-training_tests.py: dict_modifier_english / dict_modifier_french).
//
// Subtle:
// - GLAM ran every test variant by Python `str.replace` over the *whole prompt*, one dict entry after the
//   other (`prompt_modifier`). We instead derive a style's word tables by applying the same ordered
//   substitutions to each word, and `rewriteMission` applies them to the goal. This is the same text because
//   no substitution key occurs in the fixed template text ("You see a", "steps", "forward", "Tu vois",
//   "pas", "devant", the action names, the prompt header); test/env/text-glam.test.ts checks the equality
//   on every recorded step, test/agent/prompt.test.ts on whole prompts.
// - GLAM's dicts are reproduced as written, quirks included: French "clef" also occurs in the locked-door
//   state "fermée à clef" (so french-oov-nouns says "fermée à chaise"), and the French synonym dict maps
//   'gris' (not 'grise') → 'argent', so "grise" becomes "argente". The carried-object line keeps GLAM's
//   English words in French ("Tu portes une key grey"), which no French dict touches.
// - Styles are frozen and compared by identity: describe.ts caches its phrase tables per style object, so
//   build a style once (makeStyle / getStyle) and reuse it.

import { IDX_TO_COLOR, IDX_TO_OBJECT, IDX_TO_STATE } from '../constants.js';
import { GlamError } from '../../errors.js';
import { FRENCH_COLORS, FRENCH_OBJECTS, FRENCH_STATES, translateMission } from './french.js';

export type Language = 'english' | 'french';

/** One `str.replace(from, to)` of GLAM's prompt_modifier; a style applies its list in order. */
export type Substitution = readonly [from: string, to: string];

export interface TextStyle {
  /** Preset name, or the name given to makeStyle. */
  readonly name: string;
  /** Sentence templates: "You see a red key 1 step left" or "Tu vois une clef rouge 1 pas à gauche". */
  readonly language: Language;
  /** Noun per MiniGrid object type (11 entries, index = type). */
  readonly objects: readonly string[];
  /** Colour adjective per MiniGrid colour (6 entries). */
  readonly colors: readonly string[];
  /** Door state per MiniGrid state (3 entries: open, closed, locked). */
  readonly states: readonly string[];
  /** Nouns of the "You carry a ..." line: GLAM prints the object's English `.type`, in French too. */
  readonly carriedObjects: readonly string[];
  /** Colours of the "You carry a ..." line: the object's English `.color`, in French too. */
  readonly carriedColors: readonly string[];
  /** GLAM's dict_modifier for this variant, in order; `rewriteMission` applies it to the goal. */
  readonly substitutions: readonly Substitution[];
}

export interface StyleSpec {
  readonly name: string;
  readonly language: Language;
  readonly substitutions?: readonly Substitution[];
}

// GLAM's dicts (experiments/post-training_tests.py), in their insertion order.
const EN_OOV_NOUNS: readonly Substitution[] = [['key', 'chair'], ['ball', 'table'], ['box', 'car']];
const EN_SYNONYM_ADJ: readonly Substitution[] = [
  ['red', 'vermilion'], ['green', 'jade'], ['blue', 'cyan'], ['purple', 'violet'], ['yellow', 'golden'], ['grey', 'silver'],
];
const EN_INVENTED_NOUNS: readonly Substitution[] = [['key', 'dax'], ['ball', 'xolo'], ['box', 'afze']];
const EN_INVENTED_ADJ: readonly Substitution[] = [
  ['red', 'faze'], ['green', 'jatu'], ['blue', 'croh'], ['purple', 'vurst'], ['yellow', 'gakul'], ['grey', 'sil'],
];
const FR_OOV_NOUNS: readonly Substitution[] = [['clef', 'chaise'], ['balle', 'table'], ['boîte', 'voiture']];
const FR_SYNONYM_ADJ: readonly Substitution[] = [
  ['rouge', 'vermilion'], ['verte', 'jade'], ['bleue', 'cyan'], ['violette', 'mauve'], ['jaune', 'dorée'], ['gris', 'argent'],
];
const FR_INVENTED_NOUNS: readonly Substitution[] = [['clef', 'dax'], ['balle', 'xolo'], ['boîte', 'afze']];
const FR_INVENTED_ADJ: readonly Substitution[] = [
  ['rouge', 'faze'], ['verte', 'jatu'], ['bleue', 'croh'], ['violette', 'vurst'], ['jaune', 'gakul'], ['grise', 'sil'],
];

/** Preset names; GLAM's test names in comments. */
export const STYLE_NAMES = [
  'default', //                    no_modification_test
  'oov-nouns', //                  other_name_same_categories: key→chair, ball→table, box→car
  'synonym-adjectives', //         adj_synonym: vermilion, jade, cyan, violet, golden, silver
  'invented-nouns', //             no_meaning_nouns: dax, xolo, afze
  'invented-adjectives', //        no_meaning_adj: faze, jatu, croh, vurst, gakul, sil
  'invented-both', //              no_meaning_words
  'french', //                     language='french'
  'french-oov-nouns',
  'french-synonym-adjectives',
  'french-invented-nouns',
  'french-invented-adjectives',
  'french-invented-both',
] as const;
export type StyleName = (typeof STYLE_NAMES)[number];

const PRESET_SPECS: Readonly<Record<StyleName, readonly [Language, readonly Substitution[]]>> = {
  'default': ['english', []],
  'oov-nouns': ['english', EN_OOV_NOUNS],
  'synonym-adjectives': ['english', EN_SYNONYM_ADJ],
  'invented-nouns': ['english', EN_INVENTED_NOUNS],
  'invented-adjectives': ['english', EN_INVENTED_ADJ],
  'invented-both': ['english', [...EN_INVENTED_NOUNS, ...EN_INVENTED_ADJ]],
  'french': ['french', []],
  'french-oov-nouns': ['french', FR_OOV_NOUNS],
  'french-synonym-adjectives': ['french', FR_SYNONYM_ADJ],
  'french-invented-nouns': ['french', FR_INVENTED_NOUNS],
  'french-invented-adjectives': ['french', FR_INVENTED_ADJ],
  'french-invented-both': ['french', [...FR_INVENTED_NOUNS, ...FR_INVENTED_ADJ]],
};

/** Python's `str.replace` applied for each substitution in order (every occurrence, no regex, no `$` patterns). */
export function applySubstitutions(text: string, substitutions: readonly Substitution[]): string {
  let out = text;
  for (const [from, to] of substitutions) {
    if (out.includes(from)) out = out.split(from).join(to);
  }
  return out;
}

function invalid(what: string, expected: string, value: unknown): GlamError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new GlamError('InvalidArgument',
    `Expected ${expected} for ${what} but received ${shown} of type ${typeof value}`);
}

/** Builds (and freezes) a style: the language's base words with the substitutions applied to each word. */
export function makeStyle(spec: StyleSpec): TextStyle {
  if (spec === null || typeof spec !== 'object') throw invalid('makeStyle(spec)', 'a { name, language, substitutions? } object', spec);
  const { name, language } = spec;
  if (typeof name !== 'string' || name.length === 0) throw invalid('style name', 'a non-empty string', name);
  if (language !== 'english' && language !== 'french') throw invalid('style language', "'english' or 'french'", language);
  const subs = spec.substitutions ?? [];
  if (!Array.isArray(subs)) throw invalid('style substitutions', 'an array of [from, to] string pairs', subs);
  for (const s of subs) {
    if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'string' || s[0].length === 0 || typeof s[1] !== 'string') {
      throw invalid('a style substitution', 'a [from, to] pair of strings with a non-empty from', JSON.stringify(s));
    }
  }
  const frozenSubs = Object.freeze(subs.map((s) => Object.freeze([s[0], s[1]] as const)));
  const words = (base: readonly string[]) => Object.freeze(base.map((w) => applySubstitutions(w, frozenSubs)));
  const fr = language === 'french';
  return Object.freeze({
    name,
    language,
    objects: words(fr ? FRENCH_OBJECTS : IDX_TO_OBJECT),
    colors: words(fr ? FRENCH_COLORS : IDX_TO_COLOR),
    states: words(fr ? FRENCH_STATES : IDX_TO_STATE),
    carriedObjects: words(IDX_TO_OBJECT),
    carriedColors: words(IDX_TO_COLOR),
    substitutions: frozenSubs,
  });
}

/** Every preset, built once. */
export const STYLES: Readonly<Record<StyleName, TextStyle>> = Object.freeze(Object.fromEntries(
  STYLE_NAMES.map((n) => [n, makeStyle({ name: n, language: PRESET_SPECS[n][0], substitutions: PRESET_SPECS[n][1] })]),
) as Record<StyleName, TextStyle>);

/** GLAM's English text, as recorded in the fixtures. */
export const DEFAULT_STYLE: TextStyle = STYLES.default;

/** The preset called `name`; throws GlamError('InvalidArgument') listing the valid names otherwise. */
export function getStyle(name: string): TextStyle {
  if (typeof name === 'string' && Object.hasOwn(STYLES, name)) return STYLES[name as StyleName];
  throw new GlamError('InvalidArgument',
    `Expected one of ${STYLE_NAMES.join(', ')} for style name but received ${JSON.stringify(name)}; ` +
    'build a custom style with makeStyle({ name, language, substitutions })');
}

/**
 * The goal as the agent reads it under `style`: French styles first translate the BabyAI mission
 * (french.ts), then the style's substitutions are applied, as GLAM's prompt_modifier did to the goal line.
 */
export function rewriteMission(mission: string, style: TextStyle = DEFAULT_STYLE): string {
  if (typeof mission !== 'string') throw invalid('mission', 'a string', mission);
  if (style === null || typeof style !== 'object' || !Array.isArray(style.substitutions)) {
    throw invalid('style', 'a TextStyle (use getStyle(name) or makeStyle(spec))', style);
  }
  const base = style.language === 'french' ? translateMission(mission) : mission;
  return applySubstitutions(base, style.substitutions);
}
