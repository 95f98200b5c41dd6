// Parses a BabyAI mission string back into its instruction, so that any recorded start state can
// be replayed with BabyAI's verifier. Grammar (the inverse of the surface() methods):
//   mission := clause ", then " clause          Before(a, b)
//            | clause " after you " clause      After(a, b)   ("a after you b": b first)
//            | clause
//   clause  := action " and " action | action   And(a, b)
//   action  := "go to " desc | "pick up " desc | "open " desc | "put " desc " next to " desc
//   desc    := ("the " | "a ") [colour " "] (box | ball | key | door | object) [location]
//   location:= " in front of you" | " behind you" | " on your left" | " on your right"
// Subtle: the article is not part of the instruction (BabyAI recomputes "the"/"a" from the number of
// matching objects), so it is parsed and dropped; locations are resolved later, against the agent's
// pose at reset (ObjDesc.findMatchingObjs). Splits are unambiguous because no description contains
// ", then ", " after you ", " and " or " next to ".

import { COLOR_NAMES, type Color } from './constants.js';
import { GlamError } from '../errors.js';
import {
  AfterInstr, AndInstr, BeforeInstr, GoToInstr, ObjDesc, OpenInstr, PickupInstr, PutNextInstr,
  type ActionInstr, type DescType, type Instr, type LocName,
} from './instructions/index.js';

const LOCATIONS: readonly (readonly [string, LocName])[] = [
  [' in front of you', 'front'],
  [' behind you', 'behind'],
  [' on your left', 'left'],
  [' on your right', 'right'],
];
const TYPES: readonly string[] = ['box', 'ball', 'key', 'door', 'object'];

function fail(mission: string, why: string): GlamError {
  return new GlamError(
    'InvalidArgument',
    `Cannot parse mission ${JSON.stringify(mission)}: ${why}. Expected BabyAI's language, e.g. "go to the red ball", ` +
      '"pick up a key on your left", "open the door", "put the red ball next to the blue box", ' +
      '"pick up a key, then go to the red box", "go to a ball after you pick up the grey key"',
  );
}

/** "the red ball on your left" → ObjDesc('ball', 'red', 'left'). */
export function parseObjDesc(text: string, mission = text): ObjDesc {
  let rest = text;
  let loc: LocName | null = null;
  for (const [suffix, name] of LOCATIONS) {
    if (rest.endsWith(suffix)) {
      loc = name;
      rest = rest.slice(0, -suffix.length);
      break;
    }
  }
  const words = rest.split(' ');
  const article = words.shift();
  if (article !== 'the' && article !== 'a') throw fail(mission, `description "${text}" must start with "the" or "a"`);
  let color: Color | null = null;
  if (words.length === 2) {
    const c = words.shift()!;
    if (!COLOR_NAMES.includes(c as Color)) throw fail(mission, `unknown colour "${c}" in "${text}"`);
    color = c as Color;
  }
  if (words.length !== 1 || !TYPES.includes(words[0]!)) throw fail(mission, `"${text}" is not an object description`);
  const type = words[0] === 'object' ? null : (words[0] as DescType);
  return new ObjDesc(type, color, loc);
}

/** One action clause. */
export function parseAction(text: string, mission = text): ActionInstr {
  if (text.startsWith('go to ')) return new GoToInstr(parseObjDesc(text.slice(6), mission));
  if (text.startsWith('pick up ')) {
    const d = parseObjDesc(text.slice(8), mission);
    if (d.type === 'door') throw fail(mission, 'doors cannot be picked up');
    return new PickupInstr(d);
  }
  if (text.startsWith('open ')) {
    const d = parseObjDesc(text.slice(5), mission);
    if (d.type !== 'door') throw fail(mission, 'only doors can be opened');
    return new OpenInstr(d);
  }
  if (text.startsWith('put ')) {
    const parts = text.slice(4).split(' next to ');
    if (parts.length !== 2) throw fail(mission, `"${text}" needs exactly one " next to "`);
    const move = parseObjDesc(parts[0]!, mission);
    if (move.type === 'door') throw fail(mission, 'doors cannot be moved');
    return new PutNextInstr(move, parseObjDesc(parts[1]!, mission));
  }
  throw fail(mission, `"${text}" does not start with "go to", "pick up", "open" or "put"`);
}

function parseClause(text: string, mission: string): ActionInstr | AndInstr {
  const parts = text.split(' and ');
  if (parts.length === 1) return parseAction(text, mission);
  if (parts.length === 2) return new AndInstr(parseAction(parts[0]!, mission), parseAction(parts[1]!, mission));
  throw fail(mission, 'at most one " and " per clause');
}

/** Parses a whole mission into BabyAI's instruction tree. */
export function parseMission(mission: string): Instr {
  if (typeof mission !== 'string' || mission.trim() === '') {
    throw new GlamError('InvalidArgument', `Expected a non-empty mission string but received ${JSON.stringify(mission)}`);
  }
  const m = mission.trim();
  const then = m.split(', then ');
  if (then.length === 2) return new BeforeInstr(parseClause(then[0]!, m), parseClause(then[1]!, m));
  if (then.length > 2) throw fail(m, 'at most one ", then "');
  const after = m.split(' after you ');
  if (after.length === 2) return new AfterInstr(parseClause(after[0]!, m), parseClause(after[1]!, m));
  if (after.length > 2) throw fail(m, 'at most one " after you "');
  return parseClause(m, m);
}
