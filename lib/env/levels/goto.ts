// Go-to levels in a single room (MiniGrid's babyai/goto.py; GoToLocalS8N16 from GLAM's fork).
// Subtle: the agent is placed before the objects, so no object lands within Manhattan distance 1
// of the start cell; every object must be reachable without moving another (else regenerate).
// GoToLocal's distractors are not unique, so "a red ball" (several matches) is possible, and the
// instruction is a GoTo to one of them: facing *any* matching object succeeds.

import { GoToInstr, ObjDesc } from '../instructions/index.js';
import { RoomGridLevel, type LevelOptions } from './roomgrid-level.js';

/** "go to the red ball" among `numDists` random distractors (7 by default, 0 for NoDists). */
export class GoToRedBall extends RoomGridLevel {
  readonly numDists: number;
  readonly #name: string;
  constructor(opts: LevelOptions & { numDists?: number; name?: string } = {}) {
    super({ ...opts, numRows: 1, numCols: 1 });
    this.numDists = opts.numDists ?? 7;
    this.#name = opts.name ?? 'GoToRedBall';
  }
  get levelName(): string {
    return this.#name;
  }
  protected genMission(): void {
    this.placeAgent();
    const { obj } = this.addObject(0, 0, 'ball', 'red');
    this.addDistractors(undefined, undefined, this.numDists, false);
    this.requireObjsReachable();
    this.instrs = new GoToInstr(new ObjDesc('ball', obj.color));
  }
}

/** "go to the/a <color> <type>": one of `numDists` random objects (8 by default). */
export class GoToLocal extends RoomGridLevel {
  readonly numDists: number;
  readonly #name: string;
  constructor(opts: LevelOptions & { numDists?: number; name?: string } = {}) {
    super({ ...opts, numRows: 1, numCols: 1 });
    this.numDists = opts.numDists ?? 8;
    this.#name = opts.name ?? 'GoToLocal';
  }
  get levelName(): string {
    return this.#name;
  }
  protected genMission(): void {
    this.placeAgent();
    const objs = this.addDistractors(undefined, undefined, this.numDists, false);
    this.requireObjsReachable();
    const obj = this.randElem(objs);
    this.instrs = new GoToInstr(new ObjDesc(obj.type as 'key' | 'ball' | 'box', obj.color));
  }
}
