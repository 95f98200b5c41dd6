// GLAM's BabyAI-Text levels (babyai_text/levels/mixed_seq_levels.py): MixedTrainLocal,
// MixedTestLocal and the sequence test levels. One 8×8 room with 8 distractors (two rooms for
// "open"), task kinds goto / pickup / open / putnext / "pick up seq go to".
// Subtle points:
// - Train/test split by colour–noun pair on the *surface* string: train missions never contain
//   "yellow box", "red key", "red door", "green ball", "grey door"; test missions contain none of the
//   other 19 pairs (so only those 5 appear). Open draws the locked door colour from
//   yellow/green/blue/purple (train, and may say just "the door") or red/grey (test, always named).
// - GLAM draws the task kind once per env *instance* (its constructor), so every episode of an
//   instance has the same kind; `taskPerInstance: true` reproduces that, the default draws it per
//   episode (the uniform mixture GLAM's paper describes). A rejected layout keeps the episode's kind.
// - "pick up seq go to" is Before(pickup A, goto B) or After(goto B, pickup A), 50/50; B may have A's
//   description only when two objects match it. PutNext likewise, but validation then rejects it.
// - Agent placed before the objects (goto/pickup/putnext/seq), after them (open), as in GLAM.

import { COLOR_NAMES, type Color } from '../constants.js';
import { GlamError } from '../../errors.js';
import { RejectSampling } from '../minigrid-env.js';
import type { WorldObj } from '../world-object.js';
import { AfterInstr, BeforeInstr, GoToInstr, ObjDesc, OpenInstr, PickupInstr, PutNextInstr } from '../instructions/index.js';
import { LevelGen, type LevelGenOptions } from './levelgen.js';

export const MIXED_TASKS = ['goto', 'pickup', 'open', 'putnext', 'pick up seq go to'] as const;
export type MixedTask = (typeof MIXED_TASKS)[number];

/** Colour–noun pairs held out of training (and the only ones at test time). */
export const HELD_OUT_PAIRS: readonly string[] = ['yellow box', 'red key', 'red door', 'green ball', 'grey door'];
const ALL_PAIRS: readonly string[] = COLOR_NAMES.flatMap((c) => ['box', 'key', 'ball', 'door'].map((t) => `${c} ${t}`));
/** Every other pair (what MixedTestLocal rejects). */
export const TRAIN_PAIRS: readonly string[] = ALL_PAIRS.filter((p) => !HELD_OUT_PAIRS.includes(p));

export type MixedSplit = 'train' | 'test';
/** Which sequence orders a "pick up seq go to" task may use. */
export type SeqOrder = 'both' | 'before' | 'after';

export interface MixedOptions extends LevelGenOptions {
  /** GLAM's release behaviour: one task kind per env instance, drawn at construction. */
  taskPerInstance?: boolean;
  /** Task kinds to draw from (default all five). */
  tasks?: readonly MixedTask[];
  seqOrder?: SeqOrder;
  name?: string;
}

export class MixedLocal extends LevelGen {
  readonly split: MixedSplit;
  readonly tasks: readonly MixedTask[];
  readonly seqOrder: SeqOrder;
  readonly taskPerInstance: boolean;
  /** Task kind of the current episode (fixed for the instance with taskPerInstance). */
  task: MixedTask;
  readonly #name: string;

  constructor(split: MixedSplit, opts: MixedOptions = {}) {
    super({
      ...opts,
      roomSize: 8,
      numRows: 1,
      numCols: 1,
      numDists: 8,
      locations: false,
      unblocking: false,
      implicitUnlock: false,
    });
    this.split = split;
    this.tasks = opts.tasks ?? MIXED_TASKS;
    if (this.tasks.length === 0 || this.tasks.some((t) => !MIXED_TASKS.includes(t))) {
      throw new GlamError('InvalidArgument', `Expected tasks among ${MIXED_TASKS.join(', ')} but received ${JSON.stringify(opts.tasks)}`);
    }
    this.seqOrder = opts.seqOrder ?? 'both';
    this.taskPerInstance = opts.taskPerInstance ?? false;
    this.#name = opts.name ?? (split === 'train' ? 'MixedTrainLocal' : 'MixedTestLocal');
    this.task = this.tasks[0]!;
    if (this.taskPerInstance) this.task = this.randElem(this.tasks);
  }

  get levelName(): string {
    return this.#name;
  }

  protected override beginEpisode(): void {
    if (!this.taskPerInstance) this.task = this.randElem(this.tasks);
    this.configureRooms(1, this.task === 'open' ? 2 : 1);
  }

  /** Whether the mission uses a pair this split excludes. */
  excluded(surface: string): boolean {
    const banned = this.split === 'train' ? HELD_OUT_PAIRS : TRAIN_PAIRS;
    return banned.some((p) => surface.includes(p));
  }

  protected override genMission(): void {
    if (this.task === 'open') this.genOpen();
    else this.genOneRoom();
    // Rejection sampling gives the same distribution whatever the order of the checks: the cheap
    // colour–noun test on the descriptions goes first, GLAM's test on the surface string last.
    const banned = this.split === 'train' ? HELD_OUT_PAIRS : TRAIN_PAIRS;
    for (const d of this.instrs!.descs()) {
      if (d.color !== null && d.type !== null && banned.includes(`${d.color} ${d.type}`)) throw new RejectSampling('excluded colour–noun pair');
    }
    if (!this.checkObjsReachable()) throw new RejectSampling('unreachable object');
    if (this.excluded(this.instrs!.surface(this))) throw new RejectSampling('mission uses an excluded colour–noun pair');
  }

  #genOpenColors(): readonly Color[] {
    return this.split === 'train' ? ['yellow', 'green', 'blue', 'purple'] : ['red', 'grey'];
  }

  private genOpen(): void {
    const doorColor = this.randElem(this.#genOpenColors());
    this.addLockedRoom(doorColor);
    this.connectAll();
    for (let j = 0; j < this.numRows; j++) {
      for (let i = 0; i < this.numCols; i++) {
        if (this.getRoom(i, j) !== this.lockedRoom) this.addDistractors(i, j, this.numDists, false);
      }
    }
    for (;;) {
      this.placeAgent();
      if (this.roomFromPos(this.agentPos[0], this.agentPos[1]) !== this.lockedRoom) break;
    }
    const named = this.split === 'train' ? this.randElem<Color | null>([null, doorColor]) : doorColor;
    this.instrs = new OpenInstr(new ObjDesc('door', named));
  }

  private genOneRoom(): void {
    this.placeAgent();
    const extra = this.task === 'goto' || this.task === 'pickup' ? 1 : 2;
    const objs = this.addDistractors(undefined, undefined, this.numDists + extra, false);
    const desc = (o: WorldObj): ObjDesc => new ObjDesc(o.type as 'key' | 'ball' | 'box', o.color);
    const obj1 = this.randElem(objs);
    if (this.task === 'goto') {
      this.instrs = new GoToInstr(desc(obj1));
      return;
    }
    if (this.task === 'pickup') {
      this.instrs = new PickupInstr(desc(obj1));
      return;
    }
    // Second object: may repeat the first one's description only if two objects match it.
    let obj2 = this.randElem(objs);
    if (obj1.type === obj2.type && obj1.color === obj2.color && desc(obj1).findMatchingObjs(this).objSet.length < 2) {
      while (obj1.type === obj2.type && obj1.color === obj2.color) obj2 = this.randElem(objs);
    }
    if (this.task === 'putnext') {
      this.instrs = new PutNextInstr(desc(obj1), desc(obj2));
      return;
    }
    const pickup = new PickupInstr(desc(obj1));
    const goto = new GoToInstr(desc(obj2));
    const order = this.seqOrder === 'both' ? this.randElem(['before', 'after'] as const) : this.seqOrder;
    this.instrs = order === 'before' ? new BeforeInstr(pickup, goto) : new AfterInstr(goto, pickup);
  }
}
