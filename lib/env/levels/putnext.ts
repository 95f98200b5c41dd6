// PutNextLocal (MiniGrid's babyai/putnext.py): 8 objects with unique (type, colour) in one room,
// "put the X next to the Y" for two distinct ones.
// Subtle: generation rejects layouts where X already sits next to Y (validateInstrs), and
// max_steps counts two navigations (2·64 = 128).

import { ObjDesc, PutNextInstr } from '../instructions/index.js';
import { RoomGridLevel, type LevelOptions } from './roomgrid-level.js';

export class PutNextLocal extends RoomGridLevel {
  readonly numObjs: number;
  constructor(opts: LevelOptions & { numObjs?: number } = {}) {
    super({ ...opts, numRows: 1, numCols: 1 });
    this.numObjs = opts.numObjs ?? 8;
  }
  get levelName(): string {
    return 'PutNextLocal';
  }
  protected genMission(): void {
    this.placeAgent();
    const objs = this.addDistractors(undefined, undefined, this.numObjs, true);
    this.requireObjsReachable();
    const [o1, o2] = this.randSubset(objs, 2) as [typeof objs[0], typeof objs[0]];
    this.instrs = new PutNextInstr(
      new ObjDesc(o1.type as 'key' | 'ball' | 'box', o1.color),
      new ObjDesc(o2.type as 'key' | 'ball' | 'box', o2.color),
    );
  }
}
