// World objects (MiniGrid's world_object.py): each object answers its own rule questions
// (canOverlap, canPickup, seeBehind, toggle) and encodes itself as (type, color, state).
// Subtle points kept from MiniGrid:
// - Identity matters: BabyAI's instructions track *which* objects match ("is", not equality), so a
//   picked-up and dropped ball stays the same JS object; never clone objects that live in a grid.
// - A locked door opens only for a key of its own colour, and then becomes open AND unlocked in one
//   toggle; an unlocked door toggles open/closed. A door's state code is 0 open, 1 closed, 2 locked,
//   with "open" winning over "locked" exactly as MiniGrid's encode() tests it.
// - Toggling a box replaces the box cell by its contents (null when empty): the box disappears.
// - `curPos` is [-1, -1] while carried (MiniGrid's convention); PutNext reads it after a drop.

import { COLOR_TO_IDX, IDX_TO_COLOR, IDX_TO_OBJECT, OBJECT_TO_IDX, type Color, type ObjectType } from './constants.js';
import { GlamError } from '../errors.js';
import type { Grid } from './grid.js';

export type Pos = [number, number];

/** What `toggle` may touch: the grid (a box replaces itself) and the carried object (keys). */
export interface ToggleEnv {
  readonly grid: Grid;
  readonly carrying: WorldObj | null;
}

export abstract class WorldObj {
  // Fields are `declare`d and assigned in the constructor, in one fixed order: class-field
  // definitions made object creation the top cost of level generation (one shape for all objects).
  declare readonly type: ObjectType;
  /** OBJECT_TO_IDX[type], cached for the encoding hot path. */
  declare readonly typeIdx: number;
  declare color: Color;
  /** Object inside (boxes only). */
  declare contains: WorldObj | null;
  /** Where level generation first put it. */
  declare initPos: Pos | null;
  /** Where it is now; [-1, -1] while carried. */
  declare curPos: Pos | null;
  /** Door state (doors only; false elsewhere, so that every object has the same shape). */
  declare isOpen: boolean;
  declare isLocked: boolean;

  constructor(type: ObjectType, color: Color) {
    if (!(color in COLOR_TO_IDX)) throw new GlamError('InvalidArgument', `Unknown colour "${String(color)}"; expected one of ${IDX_TO_COLOR.join(', ')}`);
    (this as { type: ObjectType }).type = type;
    (this as { typeIdx: number }).typeIdx = OBJECT_TO_IDX[type];
    this.color = color;
    this.contains = null;
    this.initPos = null;
    this.curPos = null;
    this.isOpen = false;
    this.isLocked = false;
  }

  get colorIdx(): number {
    return COLOR_TO_IDX[this.color];
  }

  /** Can the agent stand on this cell? */
  canOverlap(): boolean {
    return false;
  }
  /** Can the agent pick this up? */
  canPickup(): boolean {
    return false;
  }
  /** Can this contain another object? */
  canContain(): boolean {
    return false;
  }
  /** Does this let the agent see the cells behind it? */
  seeBehind(): boolean {
    return true;
  }
  /** Applies the toggle action to this object at (x, y); returns whether something happened. */
  toggle(_env: ToggleEnv, _x: number, _y: number): boolean {
    return false;
  }
  /** Third encoding channel (door state); 0 for everything else. */
  stateIdx(): number {
    return 0;
  }
  /** (type, color, state) as MiniGrid's encode(). */
  encode(): [number, number, number] {
    return [this.typeIdx, this.colorIdx, this.stateIdx()];
  }
}

export class Wall extends WorldObj {
  constructor(color: Color = 'grey') {
    super('wall', color);
  }
  override seeBehind(): boolean {
    return false;
  }
}

export class Floor extends WorldObj {
  constructor(color: Color = 'blue') {
    super('floor', color);
  }
  override canOverlap(): boolean {
    return true;
  }
}

export class Goal extends WorldObj {
  constructor(color: Color = 'green') {
    super('goal', color);
  }
  override canOverlap(): boolean {
    return true;
  }
}

export class Lava extends WorldObj {
  constructor() {
    super('lava', 'red');
  }
  override canOverlap(): boolean {
    return true;
  }
}

export class Door extends WorldObj {
  constructor(color: Color, isOpen = false, isLocked = false) {
    super('door', color);
    this.isOpen = isOpen;
    this.isLocked = isLocked;
  }
  override canOverlap(): boolean {
    return this.isOpen;
  }
  override seeBehind(): boolean {
    return this.isOpen;
  }
  override toggle(env: ToggleEnv): boolean {
    if (this.isLocked) {
      // Only the key of the door's own colour unlocks it, and unlocking also opens it.
      const k = env.carrying;
      if (k !== null && k.type === 'key' && k.color === this.color) {
        this.isLocked = false;
        this.isOpen = true;
        return true;
      }
      return false;
    }
    this.isOpen = !this.isOpen;
    return true;
  }
  override stateIdx(): number {
    if (this.isOpen) return 0;
    if (this.isLocked) return 2;
    return 1;
  }
}

export class Key extends WorldObj {
  constructor(color: Color = 'blue') {
    super('key', color);
  }
  override canPickup(): boolean {
    return true;
  }
}

export class Ball extends WorldObj {
  constructor(color: Color = 'blue') {
    super('ball', color);
  }
  override canPickup(): boolean {
    return true;
  }
}

export class Box extends WorldObj {
  constructor(color: Color, contains: WorldObj | null = null) {
    super('box', color);
    this.contains = contains;
  }
  override canPickup(): boolean {
    return true;
  }
  override toggle(env: ToggleEnv, x: number, y: number): boolean {
    // The box is replaced by its contents (and vanishes when empty).
    env.grid.set(x, y, this.contains);
    return true;
  }
}

/** Builds a carryable object of BabyAI's three kinds. */
export function makeObject(type: 'key' | 'ball' | 'box', color: Color): WorldObj {
  if (type === 'key') return new Key(color);
  if (type === 'ball') return new Ball(color);
  return new Box(color);
}

/**
 * MiniGrid's WorldObj.decode: an object from (type, color, state), or null for unseen/empty/agent.
 * Goal and lava ignore the colour channel, as MiniGrid does.
 */
export function decodeObject(typeIdx: number, colorIdx: number, state: number): WorldObj | null {
  const type = IDX_TO_OBJECT[typeIdx];
  const color = IDX_TO_COLOR[colorIdx];
  if (type === undefined) throw new GlamError('InvalidArgument', `Unknown object type index ${typeIdx}; expected 0..10 (MiniGrid's OBJECT_TO_IDX)`);
  if (type === 'empty' || type === 'unseen' || type === 'agent') return null;
  if (color === undefined) throw new GlamError('InvalidArgument', `Unknown colour index ${colorIdx}; expected 0..5 (MiniGrid's COLOR_TO_IDX)`);
  switch (type) {
    case 'wall': return new Wall(color);
    case 'floor': return new Floor(color);
    case 'ball': return new Ball(color);
    case 'key': return new Key(color);
    case 'box': return new Box(color);
    case 'door':
      if (state !== 0 && state !== 1 && state !== 2) throw new GlamError('InvalidArgument', `Unknown door state ${state}; expected 0 open, 1 closed or 2 locked`);
      return new Door(color, state === 0, state === 2);
    case 'goal': return new Goal();
    case 'lava': return new Lava();
  }
}
