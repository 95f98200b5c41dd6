// French BabyAI-Text: GLAM's French word tables and the translation of BabyAI missions into French.
//
// Subtle:
// - The word tables are GLAM's (`gen_graph`, language='french'): every noun is feminine (clef, balle, boîte,
//   porte) so colours are feminine too (rouge, verte, bleue, violette, jaune, grise). The "Tu portes une ..."
//   line is NOT translated by GLAM: it prints the carried object's own English `.type` then `.color`
//   ("Tu portes une key grey"); describe.ts keeps that quirk and the recorded French episodes confirm it.
// - GLAM's French *level* never constructed in the release, so its French goals come from
//   `generate_prompt_french`, a hard-coded Go-To ("aller à <det> <nom> <adj>") whose determiner test is
//   a substring test ('a' occurs in almost every mission, so it nearly always says "une").
//   `glamFrenchGoal` reproduces that byte for byte; `translateMission` is our real translation of the
//   whole BabyAI grammar. Choices (documented here, tested in test/env/text-rules.test.ts):
//     * Infinitive instructions, as GLAM's own "aller à ...": go to → "aller à", pick up → "attraper"
//       (GLAM's French name of the pick-up action), open → "ouvrir", put X next to Y → "mettre X à côté de Y".
//     * "A, then B" → "A, puis B"; "A after you B" → "A après avoir attrapé/ouvert/mis ... / après être allé à ...";
//       "A and B" → "A et B".
//     * "the" → "la", "a" → "une" (all nouns feminine). BabyAI's colourless "object" is masculine:
//       "l'objet vert", "un objet vert", with masculine colours (rouge, vert, bleu, violet, jaune, gris).
//     * "de" contracts: "à côté de la balle", "à côté d'une balle", "à côté de l'objet", "à côté d'un objet".
//     * Locations, in the "tu" of "Tu vois": on your left → "à ta gauche", on your right → "à ta droite",
//       in front of you → "devant toi", behind you → "derrière toi".

import { GlamError } from '../../errors.js';

/** GLAM's French object names, indexed by MiniGrid object type. */
export const FRENCH_OBJECTS: readonly string[] = [
  'non visible', 'vide', 'mur', 'sol', 'porte', 'clef', 'balle', 'boîte', 'but', 'lave', 'agent',
];
/** GLAM's French colours (feminine), indexed by MiniGrid colour. */
export const FRENCH_COLORS: readonly string[] = ['rouge', 'verte', 'bleue', 'violette', 'jaune', 'grise'];
/** GLAM's French door states, indexed by MiniGrid state (0 open, 1 closed, 2 locked). */
export const FRENCH_STATES: readonly string[] = ['ouverte', 'fermée', 'fermée à clef'];

const NOUNS: Readonly<Record<string, string>> = { key: 'clef', ball: 'balle', box: 'boîte', door: 'porte' };
const COLORS_F: Readonly<Record<string, string>> = {
  red: 'rouge', green: 'verte', blue: 'bleue', purple: 'violette', yellow: 'jaune', grey: 'grise',
};
const COLORS_M: Readonly<Record<string, string>> = {
  red: 'rouge', green: 'vert', blue: 'bleu', purple: 'violet', yellow: 'jaune', grey: 'gris',
};
const LOCATIONS: readonly (readonly [string, string])[] = [
  [' on your left', ' à ta gauche'],
  [' on your right', ' à ta droite'],
  [' in front of you', ' devant toi'],
  [' behind you', ' derrière toi'],
];

/** A French noun phrase, kept in pieces so that "à" / "de" can be put in front of it. */
interface FrenchDesc { readonly article: 'la' | 'une' | "l'" | 'un'; readonly rest: string }

type Verb = 'goto' | 'pickup' | 'open' | 'put';

function unsupported(mission: string, why: string): GlamError {
  return new GlamError('InvalidArgument',
    `Expected a BabyAI mission (go to / pick up / open / put ... next to ..., joined by ", then", " after you" ` +
    `or " and") for translateMission but received ${JSON.stringify(mission)}: ${why}`);
}

function parseDesc(text: string, mission: string): FrenchDesc {
  let body = text;
  let loc = '';
  for (const [en, fr] of LOCATIONS) {
    if (body.endsWith(en)) { body = body.slice(0, body.length - en.length); loc = fr; break; }
  }
  const words = body.split(' ');
  if (words.length < 2 || words.length > 3) throw unsupported(mission, `cannot read the object "${text}"`);
  const det = words[0]!;
  const noun = words[words.length - 1]!;
  const color = words.length === 3 ? words[1]! : null;
  if (det !== 'the' && det !== 'a') throw unsupported(mission, `"${text}" must start with "the" or "a"`);
  if (noun === 'object') {
    const adj = color === null ? '' : ` ${lookup(COLORS_M, color, 'colour', mission)}`;
    return { article: det === 'the' ? "l'" : 'un', rest: `objet${adj}${loc}` };
  }
  const adj = color === null ? '' : ` ${lookup(COLORS_F, color, 'colour', mission)}`;
  return { article: det === 'the' ? 'la' : 'une', rest: `${lookup(NOUNS, noun, 'object', mission)}${adj}${loc}` };
}

function lookup(table: Readonly<Record<string, string>>, word: string, what: string, mission: string): string {
  const w = Object.hasOwn(table, word) ? table[word] : undefined;
  if (w === undefined) throw unsupported(mission, `unknown ${what} "${word}"`);
  return w;
}

function plain(d: FrenchDesc): string {
  return d.article === "l'" ? `l'${d.rest}` : `${d.article} ${d.rest}`;
}

/** "de" + noun phrase with French elision: de la / d'une / de l' / d'un. */
function ofDesc(d: FrenchDesc): string {
  if (d.article === 'la') return `de la ${d.rest}`;
  if (d.article === "l'") return `de l'${d.rest}`;
  return `d'${d.article} ${d.rest}`;
}

function translateAction(text: string, mission: string, past: boolean): string {
  let verb: Verb;
  let args: string;
  if (text.startsWith('go to ')) { verb = 'goto'; args = text.slice(6); }
  else if (text.startsWith('pick up ')) { verb = 'pickup'; args = text.slice(8); }
  else if (text.startsWith('open ')) { verb = 'open'; args = text.slice(5); }
  else if (text.startsWith('put ')) { verb = 'put'; args = text.slice(4); }
  else throw unsupported(mission, `"${text}" is not go to / pick up / open / put`);
  if (verb === 'put') {
    const k = args.indexOf(' next to ');
    if (k < 0) throw unsupported(mission, `"${text}" lacks "next to"`);
    const moved = plain(parseDesc(args.slice(0, k), mission));
    const fixed = ofDesc(parseDesc(args.slice(k + 9), mission));
    return `${past ? 'avoir mis' : 'mettre'} ${moved} à côté ${fixed}`;
  }
  const d = plain(parseDesc(args, mission));
  if (verb === 'goto') return `${past ? 'être allé' : 'aller'} à ${d}`;
  if (verb === 'pickup') return `${past ? 'avoir attrapé' : 'attraper'} ${d}`;
  return `${past ? 'avoir ouvert' : 'ouvrir'} ${d}`;
}

function translateAnd(text: string, mission: string, past: boolean): string {
  const k = text.indexOf(' and ');
  if (k < 0) return translateAction(text, mission, past);
  return `${translateAction(text.slice(0, k), mission, past)} et ${translateAnd(text.slice(k + 5), mission, past)}`;
}

/**
 * Translates a BabyAI mission (the surface grammar of babyai/levels/verifier.py) into French.
 * Throws GlamError('InvalidArgument') on a string outside that grammar.
 */
export function translateMission(mission: string): string {
  if (typeof mission !== 'string' || mission.length === 0) {
    throw new GlamError('InvalidArgument',
      `Expected a non-empty mission string for translateMission but received ${JSON.stringify(mission)}`);
  }
  const then = mission.indexOf(', then ');
  if (then >= 0) {
    return `${translateAnd(mission.slice(0, then), mission, false)}, puis ${translateAnd(mission.slice(then + 7), mission, false)}`;
  }
  const after = mission.indexOf(' after you ');
  if (after >= 0) {
    return `${translateAnd(mission.slice(0, after), mission, false)} après ${translateAnd(mission.slice(after + 11), mission, true)}`;
  }
  return translateAnd(mission, mission, false);
}

/**
 * GLAM's own French goal (`generate_prompt_french`), byte for byte, bugs included: Python substring tests
 * pick the last matching determiner ('the' then 'a'), noun (box, ball, key) and colour, and always say "aller à".
 */
export function glamFrenchGoal(mission: string): string {
  let det = '';
  let name = '';
  let adj = '';
  for (const [k, v] of [['the', 'la'], ['a', 'une']] as const) if (mission.includes(k)) det = v;
  for (const [k, v] of [['box', 'boîte'], ['ball', 'balle'], ['key', 'clef']] as const) if (mission.includes(k)) name = v;
  for (const [k, v] of Object.entries(COLORS_F)) if (mission.includes(k)) adj = v;
  return `aller à ${det} ${name} ${adj}`;
}
