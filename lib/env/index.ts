// Public API of glam's BabyAI-Text environment.
// defines (re-exported): constants, actions, Rng, world objects, Grid, MiniGridEnv, RoomGrid,
// instructions, parseMission, levels, makeEnv/listLevels, envFromState/envToState, describeView.

export * from './constants.js';
export * from './actions.js';
export { Rng } from '../util/rng.js';
export * from './world-object.js';
export { Grid } from './grid.js';
export { MiniGridEnv, RejectSampling, type MiniGridOptions, type Observation, type StepOutcome, type StepResult } from './minigrid-env.js';
export { writeEgoView, processVisInto, viewCoords, viewExts } from './view.js';
export { Room, RoomGrid, rejectNextTo, type RoomGridOptions } from './room-grid.js';
export * from './instructions/index.js';
export { parseMission, parseAction, parseObjDesc } from './mission-parser.js';
export { RoomGridLevel, type LevelOptions } from './levels/roomgrid-level.js';
export { LevelGen, type LevelGenOptions, type ActionKind, type InstrKind } from './levels/levelgen.js';
export { GoToLocal, GoToRedBall } from './levels/goto.js';
export { PickupLoc, PickupLocal } from './levels/pickup.js';
export { PutNextLocal } from './levels/putnext.js';
export { Open, UnlockLocal } from './levels/doors.js';
export { MixedLocal, MIXED_TASKS, HELD_OUT_PAIRS, TRAIN_PAIRS, type MixedTask, type MixedOptions, type MixedSplit, type SeqOrder } from './levels/mixed.js';
export { makeEnv, listLevels, levelInfo, levelNameOf, resolveTextStyle, type MakeEnvOptions } from './registry.js';
export { envFromState, envToState, validateState, ReplayEnv, type EnvState } from './state.js';
export { describeView } from './text/describe.js';
export { getStyle, makeStyle, rewriteMission, STYLES, STYLE_NAMES, DEFAULT_STYLE, type TextStyle, type Language } from './text/style.js';
export * from './vec-env.js';
export * from './bot/index.js';
