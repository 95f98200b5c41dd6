// BabyAI instructions: the base class and the four action clauses (go to, pick up, open, put next),
// each with its surface form and its step-by-step verifier. From MiniGrid's babyai/core/verifier.py.
// Subtle points, kept exactly:
// - GoTo succeeds as soon as the cell in front of the agent holds (or held, see below) a matching
//   object: it checks positions (objPoss), not objects. objPoss is only refreshed after drop
//   actions, so right after picking a matching object up, facing its old cell still counts.
// - Pickup succeeds only if the agent's hands were empty *at the previous verify call* (preCarrying)
//   and it now carries one of the matching objects; preCarrying starts as null at reset, whatever
//   the agent carries then.
// - PutNext succeeds on a drop of a matching object (the one carried at the previous verify call)
//   onto a cell adjacent to a fixed object's position.
// - Open succeeds on a toggle that leaves a matching door in front of the agent open (toggling an
//   open door closes it: no success).
// - BabyAI's optional "done action" mode (env var BABYAI_DONE_ACTIONS, off by default in MiniGrid
//   and in GLAM) is not implemented: the done action is an ordinary no-op here.

import { Action } from '../actions.js';
import { GlamError } from '../../errors.js';
import type { WorldObj } from '../world-object.js';
import { ObjDesc, posNextTo, type InstrEnv } from './obj-desc.js';

export type Status = 'success' | 'failure' | 'continue';

export abstract class Instr {
  protected env: InstrEnv | null = null;

  /** Natural-language form (resolves descriptions against env). */
  abstract surface(env: InstrEnv): string;

  /** Must be called at the start of each episode: binds the env and resolves descriptions. */
  resetVerifier(env: InstrEnv): void {
    this.env = env;
  }

  /** Verifies the action just taken: 'success', 'failure' or 'continue'. */
  abstract verify(action: number): Status;

  /** Refreshes tracked object positions (after a drop). */
  abstract updateObjsPoss(): void;

  /** Navigations needed, for max_steps: PutNext 2, other actions 1, sequences the sum. */
  abstract numNavs(): number;

  /** Leaf descriptions, in order (for validation and exclusion checks). */
  abstract descs(): ObjDesc[];

  protected boundEnv(): InstrEnv {
    if (this.env === null) throw new GlamError('Internal', 'instruction verified before resetVerifier(env)');
    return this.env;
  }
}

/** One action clause. */
export abstract class ActionInstr extends Instr {
  verify(action: number): Status {
    return this.verifyAction(action);
  }
  protected abstract verifyAction(action: number): Status;
  numNavs(): number {
    return 1;
  }
  updateObjsPoss(): void {
    for (const d of this.descs()) d.findMatchingObjs(this.boundEnv(), false);
  }
}

/** "go to <desc>": face a matching object. */
export class GoToInstr extends ActionInstr {
  constructor(readonly desc: ObjDesc) {
    super();
  }
  surface(env: InstrEnv): string {
    return 'go to ' + this.desc.surface(env);
  }
  override resetVerifier(env: InstrEnv): void {
    super.resetVerifier(env);
    this.desc.findMatchingObjs(env);
  }
  protected verifyAction(_action: number): Status {
    const [fx, fy] = this.boundEnv().frontPos;
    for (const p of this.desc.objPoss) if (p[0] === fx && p[1] === fy) return 'success';
    return 'continue';
  }
  descs(): ObjDesc[] {
    return [this.desc];
  }
}

/** "pick up <desc>". */
export class PickupInstr extends ActionInstr {
  #preCarrying: WorldObj | null = null;
  constructor(readonly desc: ObjDesc, readonly strict = false) {
    super();
    if (desc.type === 'door') throw new GlamError('InvalidArgument', 'A pick-up instruction cannot name a door');
  }
  surface(env: InstrEnv): string {
    return 'pick up ' + this.desc.surface(env);
  }
  override resetVerifier(env: InstrEnv): void {
    super.resetVerifier(env);
    this.#preCarrying = null;
    this.desc.findMatchingObjs(env);
  }
  protected verifyAction(action: number): Status {
    const env = this.boundEnv();
    const pre = this.#preCarrying;
    this.#preCarrying = env.carrying;
    if (action !== Action.pickup) return 'continue';
    if (pre === null && env.carrying !== null && this.desc.objSet.includes(env.carrying)) return 'success';
    if (this.strict && env.carrying !== null) return 'failure';
    return 'continue';
  }
  descs(): ObjDesc[] {
    return [this.desc];
  }
}

/** "open <door desc>". */
export class OpenInstr extends ActionInstr {
  constructor(readonly desc: ObjDesc, readonly strict = false) {
    super();
    if (desc.type !== 'door') throw new GlamError('InvalidArgument', 'An open instruction must name a door');
  }
  surface(env: InstrEnv): string {
    return 'open ' + this.desc.surface(env);
  }
  override resetVerifier(env: InstrEnv): void {
    super.resetVerifier(env);
    this.desc.findMatchingObjs(env);
  }
  protected verifyAction(action: number): Status {
    if (action !== Action.toggle) return 'continue';
    const env = this.boundEnv();
    const [fx, fy] = env.frontPos;
    const front = env.grid.get(fx, fy);
    if (front !== null && front.type === 'door' && front.isOpen && this.desc.objSet.includes(front)) {
      return 'success';
    }
    if (this.strict && front !== null && front.type === 'door') return 'failure';
    return 'continue';
  }
  descs(): ObjDesc[] {
    return [this.desc];
  }
}

/** "put <move desc> next to <fixed desc>". */
export class PutNextInstr extends ActionInstr {
  #preCarrying: WorldObj | null = null;
  constructor(readonly descMove: ObjDesc, readonly descFixed: ObjDesc, readonly strict = false) {
    super();
    if (descMove.type === 'door') throw new GlamError('InvalidArgument', 'A put-next instruction cannot move a door');
  }
  surface(env: InstrEnv): string {
    return 'put ' + this.descMove.surface(env) + ' next to ' + this.descFixed.surface(env);
  }
  override resetVerifier(env: InstrEnv): void {
    super.resetVerifier(env);
    this.#preCarrying = null;
    this.descMove.findMatchingObjs(env);
    this.descFixed.findMatchingObjs(env);
  }
  override numNavs(): number {
    return 2;
  }
  /** Whether a movable object already sits next to a fixed one (generation rejects such missions). */
  objsNext(): boolean {
    for (const a of this.descMove.objSet) {
      if (a.curPos === null) continue;
      for (const b of this.descFixed.objPoss) if (posNextTo(a.curPos, b)) return true;
    }
    return false;
  }
  protected verifyAction(action: number): Status {
    const env = this.boundEnv();
    const pre = this.#preCarrying;
    this.#preCarrying = env.carrying;
    if (this.strict && action === Action.pickup && env.carrying !== null) return 'failure';
    if (action !== Action.drop) return 'continue';
    for (const a of this.descMove.objSet) {
      if (pre !== a || a.curPos === null) continue;
      for (const b of this.descFixed.objPoss) if (posNextTo(a.curPos, b)) return 'success';
    }
    return 'continue';
  }
  descs(): ObjDesc[] {
    return [this.descMove, this.descFixed];
  }
}
