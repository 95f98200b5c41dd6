// Pick-up levels in a single room: PickupLoc (MiniGrid's babyai/pickup.py: descriptions may use
// locations relative to the start pose) and PickupLocal (GLAM's fork: always-coloured descriptions).
// Subtle: both are LevelGen levels, so objects are placed before the agent (an object may sit right
// next to it) and the description may match several objects ("a ..."), any of which succeeds.
// PickupLocal in GLAM's fork leaves BabyAI's default locked-room probability (0.5), which would
// loop forever in a single room; we use 0 (the only setting under which the level can generate).

import { LevelGen, type LevelGenOptions } from './levelgen.js';

/** "pick up <desc>", descriptions with optional colour and optional location. */
export class PickupLoc extends LevelGen {
  constructor(opts: LevelGenOptions = {}) {
    super({
      ...opts,
      actionKinds: ['pickup'],
      instrKinds: ['action'],
      numRows: 1,
      numCols: 1,
      numDists: 8,
      lockedRoomProb: 0,
      locations: true,
      unblocking: false,
    });
  }
  get levelName(): string {
    return 'PickupLoc';
  }
}

/** "pick up the/a <color> <type>" in one room with 8 objects. */
export class PickupLocal extends LevelGen {
  constructor(opts: LevelGenOptions = {}) {
    super({
      ...opts,
      actionKinds: ['pickup'],
      instrKinds: ['action'],
      numRows: 1,
      numCols: 1,
      numDists: 8,
      lockedRoomProb: 0,
      locations: false,
      unblocking: false,
      implicitUnlock: false,
      forceColors: true,
    });
  }
  get levelName(): string {
    return 'PickupLocal';
  }
}
