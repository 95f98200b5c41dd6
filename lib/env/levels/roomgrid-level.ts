// Base of every BabyAI level (MiniGrid's babyai/core/roomgrid_level.py): generate a mission by
// rejection sampling, verify the instruction after every step, recompute max_steps at every reset.
// Subtle points, kept exactly:
// - Generation restarts from empty rooms whenever a level throws RejectSampling (unreachable
//   objects, failed placement, invalid PutNext); the mission string is the instruction's surface
//   form, computed after generation, so "the"/"a" reflect the final layout.
// - max_steps = numNavs · roomSize² · numRows · numCols, recomputed at every reset (a level whose
//   layout changes per episode, like GLAM's mixed levels, gets a new limit each time), unless the
//   env was built with a fixed maxSteps.
// - After a drop action the instruction refreshes its tracked object positions *before* verifying.
// - Success: terminated, reward 1 - 0.9·stepCount/maxSteps; failure: terminated, reward 0.
//   Truncation (stepCount >= maxSteps) is independent and may coincide with either.

import { Action } from '../actions.js';
import { GlamError } from '../../errors.js';
import { RejectSampling, type StepOutcome } from '../minigrid-env.js';
import { RoomGrid, type RoomGridOptions } from '../room-grid.js';
import { ActionInstr, Instr, PutNextInstr, SeqInstr } from '../instructions/index.js';

export interface LevelOptions extends RoomGridOptions {
  /** Fixed episode limit; by default it is recomputed from the instruction at every reset. */
  maxSteps?: number;
}

/** Generation attempts before giving up (MiniGrid retries forever; a cap turns a bug into an error). */
const MAX_ATTEMPTS = 100_000;

export abstract class RoomGridLevel extends RoomGrid {
  instrs: Instr | null = null;
  readonly fixedMaxSteps: boolean;
  /** BabyAI validation against locked-door keys applies only to levels with unblocking. */
  unblocking = false;

  constructor(opts: LevelOptions = {}) {
    super({ ...opts, roomSize: opts.roomSize ?? 8, maxSteps: opts.maxSteps ?? 0 });
    this.fixedMaxSteps = opts.maxSteps !== undefined;
  }

  /** Level name without the gym prefix, e.g. "GoToLocal". */
  abstract get levelName(): string;

  /** Builds rooms, objects, agent and `this.instrs`; throws RejectSampling to retry. */
  protected abstract genMission(): void;

  /** Once per reset, before the attempts (e.g. draw an episode's task kind and room layout). */
  protected beginEpisode(): void {}

  protected genGrid(): void {
    this.beginEpisode();
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new GlamError('Internal', `${this.levelName}: no valid mission after ${MAX_ATTEMPTS} attempts`);
      try {
        this.instrs = null;
        this.genRooms();
        this.genMission();
        const instrs = this.instrs as Instr | null;
        if (instrs === null) throw new GlamError('Internal', `${this.levelName}: genMission set no instruction`);
        this.validateInstrs(instrs);
      } catch (e) {
        if (e instanceof RejectSampling) continue;
        throw e;
      }
      break;
    }
    this.mission = this.requireInstrs().surface(this);
  }

  protected override afterReset(): void {
    const instrs = this.requireInstrs();
    instrs.resetVerifier(this);
    if (!this.fixedMaxSteps) {
      this.maxSteps = instrs.numNavs() * this.roomSize * this.roomSize * this.numRows * this.numCols;
    }
  }

  protected override afterStep(action: number, out: StepOutcome): void {
    const instrs = this.requireInstrs();
    if (action === Action.drop) instrs.updateObjsPoss();
    const status = instrs.verify(action);
    out.status = status;
    if (status === 'success') {
      out.terminated = true;
      out.reward = this.reward();
    } else if (status === 'failure') {
      out.terminated = true;
      out.reward = 0;
    }
  }

  requireInstrs(): Instr {
    if (this.instrs === null) throw new GlamError('InvalidArgument', 'The env has no instruction yet; call reset() first');
    return this.instrs;
  }

  /** Throws RejectSampling unless every object is reachable without moving another (check_objs_reachable). */
  requireObjsReachable(): void {
    if (!this.checkObjsReachable()) throw new RejectSampling('unreachable object');
  }

  /** MiniGrid's validate_instrs: rejects PutNext missions that are trivial or self-referential, and (with unblocking) clauses about keys of locked doors. */
  validateInstrs(instr: Instr): void {
    if (instr instanceof PutNextInstr) {
      instr.resetVerifier(this);
      const fixed = new Set(instr.descFixed.objSet);
      if (instr.descMove.objSet.some((o) => fixed.has(o))) throw new RejectSampling('objects match both sides of PutNext');
      if (instr.objsNext()) throw new RejectSampling('objects already next to each other');
      const m = instr.descMove.objSet;
      const f = instr.descFixed.objSet;
      if (m.length === 1 && f.length === 1 && m[0] === f[0]) throw new RejectSampling('cannot move an object next to itself');
    }
    if (instr instanceof ActionInstr) {
      if (!this.unblocking) return;
      const lockedColors = new Set<string>();
      for (const row of this.roomGrid) {
        for (const room of row) for (const d of room.doors) if (d !== null && d !== true && d.isLocked) lockedColors.add(d.color);
      }
      for (const d of instr.descs()) {
        if (d.type === 'key' && d.color !== null && lockedColors.has(d.color)) throw new RejectSampling('instruction involves the key of a locked door');
      }
      return;
    }
    if (instr instanceof SeqInstr) {
      this.validateInstrs(instr.instrA);
      this.validateInstrs(instr.instrB);
      return;
    }
    throw new GlamError('Internal', 'unhandled instruction type');
  }
}
