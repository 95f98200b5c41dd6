// The level registry: gym ids `BabyAI-<Name>-v0` → level constructors, and `makeEnv`.
// Subtle: like gym.make, makeEnv does not reset; the first reset() uses the construction seed
// (reset({ seed }) re-seeds). GoToLocalS8N8 is GoToLocal itself (8 distractors), registered under
// both names as GLAM's plots do. `language: 'french'` only switches the text observations (the
// mission stays English, as in GLAM's recorded French episodes).

import { GlamError } from '../errors.js';
import { getStyle, type TextStyle } from './text/style.js';
import type { Language } from './text/style.js';
import type { RoomGridLevel } from './levels/roomgrid-level.js';
import { GoToLocal, GoToRedBall } from './levels/goto.js';
import { PickupLoc, PickupLocal } from './levels/pickup.js';
import { PutNextLocal } from './levels/putnext.js';
import { Open, UnlockLocal } from './levels/doors.js';
import { MixedLocal } from './levels/mixed.js';

export interface MakeEnvOptions {
  /** Seed of the first episode (default 0). */
  seed?: number;
  /** Text language of the descriptions (default english); ignored when textStyle is given. */
  language?: Language;
  /** Full text style (see text/style.ts presets). */
  textStyle?: TextStyle;
  /** Compute descriptions (default true). */
  text?: boolean;
  /** Fixed episode limit instead of BabyAI's per-episode max_steps. */
  maxSteps?: number;
  /** Mixed levels: GLAM's one-task-kind-per-instance behaviour (default false: drawn per episode). */
  taskPerInstance?: boolean;
}

interface LevelEntry {
  readonly name: string;
  readonly roomSize: number;
  readonly summary: string;
  readonly create: (o: ResolvedOptions) => RoomGridLevel;
}

type ResolvedOptions = { seed: number; textStyle: TextStyle | undefined; text: boolean; maxSteps?: number; taskPerInstance?: boolean };

const ENTRIES: readonly LevelEntry[] = [
  { name: 'GoToRedBall', roomSize: 8, summary: 'go to the red ball, 7 distractors, one room', create: (o) => new GoToRedBall(o) },
  { name: 'GoToRedBallNoDists', roomSize: 8, summary: 'go to the red ball, no distractors', create: (o) => new GoToRedBall({ ...o, numDists: 0, name: 'GoToRedBallNoDists' }) },
  { name: 'GoToLocal', roomSize: 8, summary: 'go to one of 8 objects, one room', create: (o) => new GoToLocal(o) },
  { name: 'GoToLocalS8N4', roomSize: 8, summary: 'go to one of 4 objects', create: (o) => new GoToLocal({ ...o, numDists: 4, name: 'GoToLocalS8N4' }) },
  { name: 'GoToLocalS8N8', roomSize: 8, summary: 'go to one of 8 objects (= GoToLocal)', create: (o) => new GoToLocal({ ...o, numDists: 8, name: 'GoToLocalS8N8' }) },
  { name: 'GoToLocalS8N16', roomSize: 8, summary: 'go to one of 16 objects', create: (o) => new GoToLocal({ ...o, numDists: 16, name: 'GoToLocalS8N16' }) },
  { name: 'PickupLocal', roomSize: 8, summary: 'pick up a coloured object among 8, one room', create: (o) => new PickupLocal(o) },
  { name: 'PickupLoc', roomSize: 8, summary: 'pick up an object described with locations', create: (o) => new PickupLoc(o) },
  { name: 'PutNextLocal', roomSize: 8, summary: 'put an object next to another, 8 unique objects', create: (o) => new PutNextLocal(o) },
  { name: 'UnlockLocal', roomSize: 8, summary: 'open the locked door of the centre room of a 3x3 maze', create: (o) => new UnlockLocal(o) },
  { name: 'Open', roomSize: 8, summary: 'open a door of a 3x3 maze', create: (o) => new Open(o) },
  { name: 'PickUpThenGoToLocal', roomSize: 8, summary: 'pick up A, then go to B', create: (o) => new MixedLocal('train', { ...o, tasks: ['pick up seq go to'], seqOrder: 'before', name: 'PickUpThenGoToLocal' }) },
  { name: 'GoToAfterPickUpLocal', roomSize: 8, summary: 'go to B after you pick up A', create: (o) => new MixedLocal('train', { ...o, tasks: ['pick up seq go to'], seqOrder: 'after', name: 'GoToAfterPickUpLocal' }) },
  { name: 'PickUpSeqGoToLocal', roomSize: 8, summary: 'either order of pick up A / go to B', create: (o) => new MixedLocal('train', { ...o, tasks: ['pick up seq go to'], seqOrder: 'both', name: 'PickUpSeqGoToLocal' }) },
  { name: 'MixedTrainLocal', roomSize: 8, summary: "GLAM's training mixture, held-out colour-noun pairs excluded", create: (o) => new MixedLocal('train', o) },
  { name: 'MixedTestLocal', roomSize: 8, summary: "GLAM's test mixture, held-out colour-noun pairs only", create: (o) => new MixedLocal('test', o) },
];

const BY_NAME = new Map(ENTRIES.map((e) => [e.name, e]));

/** `BabyAI-<Name>-v0` → Name; bare names are accepted too. */
export function levelNameOf(id: string): string {
  const m = /^BabyAI-(.+)-v0$/.exec(id);
  return m ? m[1]! : id;
}

function entry(id: string): LevelEntry {
  const e = typeof id === 'string' ? BY_NAME.get(levelNameOf(id)) : undefined;
  if (e === undefined) {
    throw new GlamError('InvalidArgument', `Unknown level ${JSON.stringify(id)}; expected one of: ${listLevels().join(', ')}`);
  }
  return e;
}

/** Registered gym ids, e.g. "BabyAI-GoToLocal-v0". */
export function listLevels(): string[] {
  return ENTRIES.map((e) => `BabyAI-${e.name}-v0`);
}

/** Name, room size and one-line summary of a level. */
export function levelInfo(id: string): { id: string; name: string; roomSize: number; summary: string } {
  const e = entry(id);
  return { id: `BabyAI-${e.name}-v0`, name: e.name, roomSize: e.roomSize, summary: e.summary };
}

/** Resolves language/textStyle options to the style describeView takes (undefined = default English). */
export function resolveTextStyle(opts: { language?: Language; textStyle?: TextStyle }): TextStyle | undefined {
  if (opts.textStyle !== undefined) return opts.textStyle;
  if (opts.language === undefined || opts.language === 'english') return undefined;
  if (opts.language === 'french') return getStyle('french');
  throw new GlamError('InvalidArgument', `Expected language 'english' or 'french' but received ${JSON.stringify(opts.language)}`);
}

/** Builds a level env by gym id (or bare name). Call reset() before stepping. */
export function makeEnv(id: string, opts: MakeEnvOptions = {}): RoomGridLevel {
  const e = entry(id);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new GlamError('InvalidArgument', `Expected an integer seed but received ${String(opts.seed)}`);
  if (opts.maxSteps !== undefined && !(Number.isInteger(opts.maxSteps) && opts.maxSteps > 0)) {
    throw new GlamError('InvalidArgument', `Expected a positive integer maxSteps but received ${String(opts.maxSteps)}`);
  }
  const resolved: ResolvedOptions = { seed, textStyle: resolveTextStyle(opts), text: opts.text ?? true };
  if (opts.maxSteps !== undefined) resolved.maxSteps = opts.maxSteps;
  if (opts.taskPerInstance !== undefined) resolved.taskPerInstance = opts.taskPerInstance;
  return e.create(resolved);
}
