// BabyAI object descriptions ("the red ball", "a key on your left"): which objects of the env a
// description designates, and its surface form. From MiniGrid's babyai/core/verifier.py.
// Subtle points:
// - Locations are relative to the agent's pose when the description is resolved, i.e. at reset
//   (the start pose), and only match objects inside the agent's *current* room at that moment;
//   "left/right" test the sign of the dot product with the agent's right vector, "front/behind"
//   with its forward vector, so an object can be both "in front of you" and "on your left".
// - The article is "the" when exactly one object matches, "a" otherwise (no plural forms).
// - After resolution the set of objects is fixed (identity); `findMatchingObjs(env, false)` only
//   refreshes their positions (objects being carried drop out of objPoss), which BabyAI does after
//   every drop action.
// - Scan order is column-major (x outer, y inner), as MiniGrid's, so objSet order matches.

import { COLOR_NAMES, DIR_TO_VEC, type Color } from '../constants.js';
import { GlamError } from '../../errors.js';
import type { Grid } from '../grid.js';
import type { Pos, WorldObj } from '../world-object.js';

/** Object types the language can describe. */
export const OBJ_TYPES = ['box', 'ball', 'key', 'door'] as const;
export const OBJ_TYPES_NOT_DOOR = ['box', 'ball', 'key'] as const;
export type DescType = (typeof OBJ_TYPES)[number];
/** Locations, relative to the agent's starting pose. */
export const LOC_NAMES = ['left', 'right', 'front', 'behind'] as const;
export type LocName = (typeof LOC_NAMES)[number];

/** What instructions read from the env. RoomGrid levels satisfy it. */
export interface InstrEnv {
  readonly grid: Grid;
  readonly agentPos: Pos;
  readonly agentDir: number;
  readonly carrying: WorldObj | null;
  readonly frontPos: Pos;
  roomFromPos(x: number, y: number): { posInside(x: number, y: number): boolean };
}

export class ObjDesc {
  readonly type: DescType | null;
  readonly color: Color | null;
  readonly loc: LocName | null;
  /** Objects possibly matching the description (fixed at resolution). */
  objSet: WorldObj[] = [];
  /** Current positions of those objects that are on the grid. */
  objPoss: Pos[] = [];

  constructor(type: DescType | null, color: Color | null = null, loc: LocName | null = null) {
    if (type !== null && !(OBJ_TYPES as readonly string[]).includes(type)) {
      throw new GlamError('InvalidArgument', `Unknown object type "${String(type)}" in a description; expected one of ${OBJ_TYPES.join(', ')}`);
    }
    if (color !== null && !COLOR_NAMES.includes(color)) {
      throw new GlamError('InvalidArgument', `Unknown colour "${String(color)}"; expected one of ${COLOR_NAMES.join(', ')}`);
    }
    if (loc !== null && !(LOC_NAMES as readonly string[]).includes(loc)) {
      throw new GlamError('InvalidArgument', `Unknown location "${String(loc)}"; expected one of ${LOC_NAMES.join(', ')}`);
    }
    this.type = type;
    this.color = color;
    this.loc = loc;
  }

  /** Natural-language form, e.g. "the red ball", "a key on your left" (resolves against env first). */
  surface(env: InstrEnv): string {
    this.findMatchingObjs(env);
    if (this.objSet.length === 0) {
      throw new GlamError('InvalidArgument', `No object in the env matches "${this.toString()}"`);
    }
    let s = this.type ?? 'object';
    if (this.color !== null) s = `${this.color} ${s}`;
    if (this.loc === 'front') s += ' in front of you';
    else if (this.loc === 'behind') s += ' behind you';
    else if (this.loc !== null) s += ` on your ${this.loc}`;
    return (this.objSet.length > 1 ? 'a ' : 'the ') + s;
  }

  /**
   * Resolves the description (useLocation = true: recompute objSet, applying the location test from
   * the agent's current pose) or, with useLocation = false, refreshes objPoss for the tracked objects.
   */
  findMatchingObjs(env: InstrEnv, useLocation = true): { objSet: WorldObj[]; objPoss: Pos[] } {
    if (useLocation) this.objSet = [];
    this.objPoss = [];
    const { grid } = env;
    const [ax, ay] = env.agentPos;
    const agentRoom = env.roomFromPos(ax, ay);
    const tracked = useLocation ? null : new Set(this.objSet);
    const [d1x, d1y] = DIR_TO_VEC[env.agentDir]!;
    const d2x = -d1y;
    const d2y = d1x;
    for (let i = 0; i < grid.width; i++) {
      for (let j = 0; j < grid.height; j++) {
        const cell = grid.cells[j * grid.width + i]!;
        if (cell === null) continue;
        if (tracked !== null && !tracked.has(cell)) continue;
        if (this.type !== null && cell.type !== this.type) continue;
        if (this.color !== null && cell.color !== this.color) continue;
        if (useLocation && this.loc !== null) {
          // Locations apply only to objects in the room the agent is in.
          if (!agentRoom.posInside(i, j)) continue;
          const vx = i - ax;
          const vy = j - ay;
          const along = vx * d1x + vy * d1y;
          const side = vx * d2x + vy * d2y;
          const ok =
            this.loc === 'left' ? side < 0 :
            this.loc === 'right' ? side > 0 :
            this.loc === 'front' ? along > 0 :
            along < 0;
          if (!ok) continue;
        }
        if (useLocation) this.objSet.push(cell);
        this.objPoss.push([i, j]);
      }
    }
    return { objSet: this.objSet, objPoss: this.objPoss };
  }

  toString(): string {
    return [this.color, this.type ?? 'object', this.loc].filter((x) => x !== null).join(' ');
  }
}

/** Horizontally or vertically adjacent (not diagonal). */
export function posNextTo(a: readonly [number, number], b: readonly [number, number]): boolean {
  return Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) === 1;
}
