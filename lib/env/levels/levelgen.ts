// BabyAI's generic level generator (MiniGrid's babyai/core/levelgen.py): optional locked room,
// connected rooms, distractors, then a random instruction from the baby language.
// Subtle points:
// - The agent is placed after all objects (so objects may sit next to it), never in the locked room.
// - A random description draws its colour from [none, ...colours] (so "the ball" is possible) and,
//   with locations on, a location half the time; it is redrawn until at least one object matches
//   (and, without implicit unlocking, one outside the locked room), at most 100 times per mission.
// - `forceColors` is GLAM's fork option (PickupLocal): descriptions always name a colour.
// - Instruction kinds: 'action' (one clause), 'and' (two clauses), 'seq' (before/after of clauses
//   or and-clauses).

import { COLOR_NAMES, type Color } from '../constants.js';
import { GlamError } from '../../errors.js';
import { RejectSampling } from '../minigrid-env.js';
import type { Room } from '../room-grid.js';
import {
  AfterInstr, AndInstr, BeforeInstr, GoToInstr, LOC_NAMES, OBJ_TYPES, OBJ_TYPES_NOT_DOOR, ObjDesc, OpenInstr,
  PickupInstr, PutNextInstr, type ActionInstr, type DescType, type Instr, type LocName,
} from '../instructions/index.js';
import { RoomGridLevel, type LevelOptions } from './roomgrid-level.js';

export type ActionKind = 'goto' | 'pickup' | 'open' | 'putnext';
export type InstrKind = 'action' | 'and' | 'seq';

export interface LevelGenOptions extends LevelOptions {
  numDists?: number;
  lockedRoomProb?: number;
  locations?: boolean;
  unblocking?: boolean;
  implicitUnlock?: boolean;
  actionKinds?: readonly ActionKind[];
  instrKinds?: readonly InstrKind[];
  forceColors?: boolean;
}

export abstract class LevelGen extends RoomGridLevel {
  numDists: number;
  lockedRoomProb: number;
  locations: boolean;
  implicitUnlock: boolean;
  actionKinds: readonly ActionKind[];
  instrKinds: readonly InstrKind[];
  forceColors: boolean;
  lockedRoom: Room | null = null;

  constructor(opts: LevelGenOptions = {}) {
    super(opts);
    this.numDists = opts.numDists ?? 18;
    this.lockedRoomProb = opts.lockedRoomProb ?? 0.5;
    this.locations = opts.locations ?? true;
    this.unblocking = opts.unblocking ?? true;
    this.implicitUnlock = opts.implicitUnlock ?? true;
    this.actionKinds = opts.actionKinds ?? ['goto', 'pickup', 'open', 'putnext'];
    this.instrKinds = opts.instrKinds ?? ['action', 'and', 'seq'];
    this.forceColors = opts.forceColors ?? false;
  }

  protected genMission(): void {
    this.lockedRoom = null;
    if (this.randFloat(0, 1) < this.lockedRoomProb) this.addLockedRoom();
    this.connectAll();
    this.addDistractors(undefined, undefined, this.numDists, false);
    for (;;) {
      this.placeAgent();
      if (this.roomFromPos(this.agentPos[0], this.agentPos[1]) !== this.lockedRoom) break;
    }
    if (!this.unblocking) this.requireObjsReachable();
    this.instrs = this.randInstr(this.actionKinds, this.instrKinds);
  }

  /** A locked door on a random inner wall, and its key in another room. */
  addLockedRoom(color?: Color): void {
    let doorColor: Color;
    for (;;) {
      const i = this.randInt(0, this.numCols);
      const j = this.randInt(0, this.numRows);
      const k = this.randInt(0, 4);
      const room = this.getRoom(i, j);
      if (room.neighbors[k] === null) continue;
      this.lockedRoom = room;
      doorColor = this.addDoor(i, j, k, color, true).door.color;
      break;
    }
    for (;;) {
      const i = this.randInt(0, this.numCols);
      const j = this.randInt(0, this.numRows);
      if (this.getRoom(i, j) === this.lockedRoom) continue;
      this.addObject(i, j, 'key', doorColor);
      break;
    }
  }

  /** A description matching at least one object (see header). */
  randObj(types: readonly DescType[] = OBJ_TYPES, colors: readonly Color[] = COLOR_NAMES, maxTries = 100): ObjDesc {
    for (let tries = 0; ; tries++) {
      if (tries > maxTries) throw new RejectSampling('failed to find a suitable object');
      const color = this.forceColors ? this.randElem(colors) : this.randElem<Color | null>([null, ...colors]);
      const type = this.randElem(types);
      let loc: LocName | null = null;
      if (this.locations && this.randBool()) loc = this.randElem(LOC_NAMES);
      const desc = new ObjDesc(type, color, loc);
      const { objSet, objPoss } = desc.findMatchingObjs(this);
      if (objSet.length === 0) continue;
      const locked = this.lockedRoom;
      if (!this.implicitUnlock && locked !== null) {
        if (!objPoss.some(([x, y]) => !locked.posInside(x, y))) continue;
      }
      return desc;
    }
  }

  randInstr(actionKinds: readonly ActionKind[], instrKinds: readonly InstrKind[]): Instr {
    const kind = this.randElem(instrKinds);
    if (kind === 'action') return this.randAction(actionKinds);
    if (kind === 'and') return new AndInstr(this.randAction(actionKinds), this.randAction(actionKinds));
    if (kind === 'seq') {
      const a = this.randInstr(actionKinds, ['action', 'and']) as ActionInstr | AndInstr;
      const b = this.randInstr(actionKinds, ['action', 'and']) as ActionInstr | AndInstr;
      return this.randElem(['before', 'after'] as const) === 'before' ? new BeforeInstr(a, b) : new AfterInstr(a, b);
    }
    throw new GlamError('InvalidArgument', `Unknown instruction kind "${String(kind)}"; expected action, and or seq`);
  }

  randAction(actionKinds: readonly ActionKind[]): ActionInstr {
    const action = this.randElem(actionKinds);
    switch (action) {
      case 'goto': return new GoToInstr(this.randObj());
      case 'pickup': return new PickupInstr(this.randObj(OBJ_TYPES_NOT_DOOR));
      case 'open': return new OpenInstr(this.randObj(['door']));
      case 'putnext': return new PutNextInstr(this.randObj(OBJ_TYPES_NOT_DOOR), this.randObj());
    }
    throw new GlamError('InvalidArgument', `Unknown action kind "${String(action)}"; expected goto, pickup, open or putnext`);
  }
}
