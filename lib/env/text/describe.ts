// BabyAI-Text's text observation: a pure function of the agent's 7×7 view (+ what it carries), reproducing
// GLAM's `MiniGridEnv.gen_graph` (babyai-text/gym-minigrid/gym_minigrid/minigrid.py) byte for byte.
//
// view: Uint8Array (7, 7, 3) = grid.encode(vis_mask) flattened as view[(i*7 + j)*3 + k];
//   i = column left→right, j = row far→near, k = (type, color, state); the agent sits at (3, 6).
//
// Subtle (all checked against the 10,221 recorded steps in test/env/text-glam.test.ts):
// - The list is: "You carry a ..." (from `carrying`, not from the view), then walls, then objects.
// - Walls are reported only on the 3 rays forward / left / right, and only when the first cell that is
//   neither unseen (0) nor empty (1) is a wall: unseen cells do not stop the scan, an object does.
//   Walls seen diagonally never appear.
// - Objects are every cell of type ∉ {unseen, empty, wall} except the agent cell (where gen_obs_grid
//   draws the carried object), listed column by column left→right, far→near within a column.
// - Positions: same column → "N steps forward"; same row → "N steps left/right"; else x then y joined by
//   " and ". "step" is singular only for 1. Doors read "You see a <state> <color> door": GLAM's `!= 0`
//   test compares a string to 0, so open doors read "a open" (the "an" branch is dead code).
// - French: "Tu vois une <nom> <couleur> N pas à gauche et M pas devant" (no "à" before the distance,
//   unlike "Tu vois un mur à N pas devant"), doors "Tu vois une porte <couleur> <état>", and the carried
//   line in GLAM's English words and French order: "Tu portes une key grey".
// Hot path: every sentence is built once per (style, cell, object) and cached in flat tables, so a call
// allocates only the output array. Numbers are validated only where they are read.

import { GlamError } from '../../errors.js';
import { DEFAULT_STYLE, type TextStyle } from './style.js';

export type { TextStyle } from './style.js';

const SIZE = 7;
const CELLS = SIZE * SIZE; // 49
const VIEW_LENGTH = CELLS * 3; // 147
const AGENT_I = 3;
const AGENT_J = 6;
const N_TYPES = 11;
const N_COLORS = 6;
const N_STATES = 3;
const DOOR = 4;

/** Language-specific sentence pieces; only used while a style's tables are filled in. */
interface Phrasebook {
  carry(obj: string, color: string): string;
  see(obj: string, color: string): string;
  door(door: string, color: string, state: string): string;
  wall(n: number, dir: 'forward' | 'left' | 'right'): string;
  distance(n: number, dir: 'forward' | 'left' | 'right'): string;
  readonly and: string;
}

const ENGLISH: Phrasebook = {
  carry: (obj, color) => `You carry a ${color} ${obj}`,
  see: (obj, color) => `You see a ${color} ${obj} `,
  door: (door, color, state) => `You see a ${state} ${color} ${door} `,
  wall: (n, dir) => `You see a wall ${n} step${n > 1 ? 's' : ''} ${dir}`,
  distance: (n, dir) => `${n} step${n > 1 ? 's' : ''} ${dir}`,
  and: ' and ',
};

const FRENCH_DIR = { forward: 'devant', left: 'à gauche', right: 'à droite' } as const;
const FRENCH: Phrasebook = {
  carry: (obj, color) => `Tu portes une ${obj} ${color}`,
  see: (obj, color) => `Tu vois une ${obj} ${color} `,
  door: (door, color, state) => `Tu vois une ${door} ${color} ${state} `,
  wall: (n, dir) => `Tu vois un mur à ${n} pas ${FRENCH_DIR[dir]}`,
  distance: (n, dir) => `${n} pas ${FRENCH_DIR[dir]}`,
  and: ' et ',
};

/** Per-style caches; sentence slots are filled on first use. */
interface Compiled {
  readonly style: TextStyle;
  readonly book: Phrasebook;
  readonly wallForward: readonly string[]; // (7,) by distance 1..6
  readonly wallLeft: readonly string[]; // (4,) by distance 1..3
  readonly wallRight: readonly string[]; // (4,) by distance 1..3
  readonly position: readonly string[]; // (49,) by cell i*7+j: "1 step left and 2 steps forward"
  readonly carry: (string | undefined)[]; // (11*6,) by type*6+color
  readonly objects: (string | undefined)[]; // (11*6*49,) by (type*6+color)*49+cell
  readonly doors: (string | undefined)[]; // (6*3*49,) by (color*3+state)*49+cell
}

const compiled = new WeakMap<TextStyle, Compiled>();

function badStyle(style: unknown): GlamError {
  return new GlamError('InvalidArgument',
    `Expected a TextStyle for describeView style but received ${String(style)} of type ${typeof style}; ` +
    "use getStyle('default' | 'oov-nouns' | ... | 'french') or makeStyle({ name, language, substitutions })");
}

function checkWords(style: TextStyle, key: keyof TextStyle, n: number): void {
  const words = style[key];
  if (!Array.isArray(words) || words.length !== n || !words.every((w) => typeof w === 'string')) {
    throw new GlamError('InvalidArgument',
      `Expected ${n} strings for style.${key} of style ${JSON.stringify(style.name)}; build styles with makeStyle(spec)`);
  }
}

function compile(style: TextStyle): Compiled {
  if (style === null || typeof style !== 'object') throw badStyle(style);
  if (style.language !== 'english' && style.language !== 'french') throw badStyle(style);
  checkWords(style, 'objects', N_TYPES);
  checkWords(style, 'colors', N_COLORS);
  checkWords(style, 'states', N_STATES);
  checkWords(style, 'carriedObjects', N_TYPES);
  checkWords(style, 'carriedColors', N_COLORS);
  const book = style.language === 'french' ? FRENCH : ENGLISH;
  const wallForward = [''];
  for (let n = 1; n <= AGENT_J; n++) wallForward.push(book.wall(n, 'forward'));
  const wallLeft = [''];
  const wallRight = [''];
  for (let n = 1; n <= AGENT_I; n++) {
    wallLeft.push(book.wall(n, 'left'));
    wallRight.push(book.wall(n, 'right'));
  }
  const position: string[] = [];
  for (let i = 0; i < SIZE; i++) {
    for (let j = 0; j < SIZE; j++) {
      const dx = i - AGENT_I;
      const dy = AGENT_J - j;
      const x = dx > 0 ? book.distance(dx, 'right') : book.distance(-dx, 'left');
      const y = book.distance(dy, 'forward');
      position.push(dx === 0 ? y : dy === 0 ? x : x + book.and + y);
    }
  }
  const c: Compiled = {
    style, book, wallForward, wallLeft, wallRight, position,
    carry: new Array<string | undefined>(N_TYPES * N_COLORS).fill(undefined),
    objects: new Array<string | undefined>(N_TYPES * N_COLORS * CELLS).fill(undefined),
    doors: new Array<string | undefined>(N_COLORS * N_STATES * CELLS).fill(undefined),
  };
  compiled.set(style, c);
  return c;
}

function badCell(what: string, i: number, j: number, type: number, color: number, state: number): GlamError {
  return new GlamError('InvalidArgument',
    `Expected MiniGrid codes (type < ${N_TYPES}, color < ${N_COLORS}, door state < ${N_STATES}) for ${what} ` +
    `but received (${type}, ${color}, ${state})${i >= 0 ? ` at view cell [${i}][${j}]` : ''}; ` +
    'pass grid.encode(vis_mask) as view[(i*7+j)*3+k]');
}

function carryLine(c: Compiled, carrying: readonly [number, number, number]): string {
  const type = carrying[0];
  const color = carrying[1];
  if (!(type >= 0 && type < N_TYPES && color >= 0 && color < N_COLORS) || !Number.isInteger(type) || !Number.isInteger(color)) {
    throw badCell('carrying', -1, -1, type, color, carrying[2]);
  }
  const k = type * N_COLORS + color;
  return c.carry[k] ??= c.book.carry(c.style.carriedObjects[type]!, c.style.carriedColors[color]!);
}

function objectLine(c: Compiled, view: Uint8Array, i: number, j: number): string {
  const cell = i * SIZE + j;
  const type = view[cell * 3]!;
  const color = view[cell * 3 + 1]!;
  const state = view[cell * 3 + 2]!;
  if (type >= N_TYPES || color >= N_COLORS) throw badCell('view', i, j, type, color, state);
  if (type === DOOR) {
    if (state >= N_STATES) throw badCell('view', i, j, type, color, state);
    const k = (color * N_STATES + state) * CELLS + cell;
    return c.doors[k] ??= c.book.door(c.style.objects[DOOR]!, c.style.colors[color]!, c.style.states[state]!) + c.position[cell];
  }
  const k = (type * N_COLORS + color) * CELLS + cell;
  return c.objects[k] ??= c.book.see(c.style.objects[type]!, c.style.colors[color]!) + c.position[cell];
}

/**
 * GLAM's text observation of one egocentric view.
 * @param view     (7, 7, 3) grid.encode(vis_mask), flattened as view[(i*7+j)*3+k]; 147 entries.
 * @param carrying (type, color, state) of the carried object, or null.
 * @param style    words and language (default: GLAM's English, as recorded).
 */
export function describeView(
  view: Uint8Array,
  carrying: readonly [number, number, number] | null,
  style: TextStyle = DEFAULT_STYLE,
): string[] {
  if (view == null || view.length !== VIEW_LENGTH) {
    throw new GlamError('InvalidArgument',
      `Expected a view of ${VIEW_LENGTH} bytes (7×7×3, view[(i*7+j)*3+k]) for describeView but received ` +
      `${view == null ? String(view) : `length ${view.length}`}; pass the agent's encoded 7×7 view`);
  }
  const c = compiled.get(style) ?? compile(style);
  const out: string[] = [];
  if (carrying != null) out.push(carryLine(c, carrying));

  // Rays from the agent: the first cell that is neither unseen (0) nor empty (1) decides.
  for (let j = AGENT_J - 1; j >= 0; j--) {
    const t = view[(AGENT_I * SIZE + j) * 3]!;
    if (t <= 1) continue;
    if (t === 2) out.push(c.wallForward[AGENT_J - j]!);
    break;
  }
  for (let i = AGENT_I - 1; i >= 0; i--) {
    const t = view[(i * SIZE + AGENT_J) * 3]!;
    if (t <= 1) continue;
    if (t === 2) out.push(c.wallLeft[AGENT_I - i]!);
    break;
  }
  for (let i = AGENT_I + 1; i < SIZE; i++) {
    const t = view[(i * SIZE + AGENT_J) * 3]!;
    if (t <= 1) continue;
    if (t === 2) out.push(c.wallRight[i - AGENT_I]!);
    break;
  }

  // Objects, column by column (left→right), far→near within a column.
  for (let i = 0; i < SIZE; i++) {
    for (let j = 0; j < SIZE; j++) {
      if (view[(i * SIZE + j) * 3]! <= 2 || (i === AGENT_I && j === AGENT_J)) continue;
      out.push(objectLine(c, view, i, j));
    }
  }
  return out;
}
