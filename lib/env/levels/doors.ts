// Door levels on BabyAI's default 3×3 maze of 8×8 rooms (22×22 grid): UnlockLocal (MiniGrid's
// babyai/unlock.py) and Open (babyai/open.py).
// Subtle: UnlockLocal puts a locked door on a random wall of the centre room and its key in that
// room; the mission is "open the door" (no colour: any door matches, but only the locked one exists
// at first). max_steps is 1·64·9 = 576 for both. Open's door list counts each door twice (once per
// room it joins), exactly as MiniGrid's, so the draw is over that doubled list.

import { Door } from '../world-object.js';
import { ObjDesc, OpenInstr } from '../instructions/index.js';
import { RoomGridLevel, type LevelOptions } from './roomgrid-level.js';

/** Fetch the key in the centre room and open its locked door. */
export class UnlockLocal extends RoomGridLevel {
  readonly distractors: boolean;
  constructor(opts: LevelOptions & { distractors?: boolean } = {}) {
    super(opts);
    this.distractors = opts.distractors ?? false;
  }
  get levelName(): string {
    return this.distractors ? 'UnlockLocalDist' : 'UnlockLocal';
  }
  protected genMission(): void {
    const { door } = this.addDoor(1, 1, undefined, undefined, true);
    this.addObject(1, 1, 'key', door.color);
    if (this.distractors) this.addDistractors(1, 1, 3);
    this.placeAgent(1, 1);
    this.instrs = new OpenInstr(new ObjDesc('door'));
  }
}

/** "open the/a <color> door" somewhere in a connected 3×3 maze with 18 distractors. */
export class Open extends RoomGridLevel {
  constructor(opts: LevelOptions = {}) {
    super(opts);
  }
  get levelName(): string {
    return 'Open';
  }
  protected genMission(): void {
    this.placeAgent();
    this.connectAll();
    this.addDistractors(undefined, undefined, 18, false);
    this.requireObjsReachable();
    const doors: Door[] = [];
    for (let i = 0; i < this.numCols; i++) {
      for (let j = 0; j < this.numRows; j++) {
        for (const d of this.getRoom(i, j).doors) if (d instanceof Door) doors.push(d);
      }
    }
    const door = this.randElem(doors);
    this.instrs = new OpenInstr(new ObjDesc('door', door.color));
  }
}
