// BabyAI's instruction combinators: "A, then B" (Before), "A after you B" (After), "A and B" (And).
// From MiniGrid's babyai/core/verifier.py. Subtle points, kept exactly:
// - Before/After verify only the clause that is due: the second clause is not verified (and its
//   Pickup/PutNext preCarrying not updated) until the first succeeds; on the step the first one
//   succeeds, the second is verified at once with the same action, so one action can finish both
//   (e.g. "pick up a red key, then go to a red key" when another red key was there).
// - After(A, B) = "A after you B": B is due first.
// - Any failure of a due clause fails the whole instruction; in strict mode, finishing the later
//   clause first fails too.
// - And verifies both clauses every step until each has succeeded once.

import type { InstrEnv } from './obj-desc.js';
import { ActionInstr, Instr, type Status } from './instr.js';
import type { ObjDesc } from './obj-desc.js';
import { GlamError } from '../../errors.js';

export abstract class SeqInstr extends Instr {
  protected aDone: Status | false = false;
  protected bDone: Status | false = false;
  constructor(readonly instrA: ActionInstr | AndInstr, readonly instrB: ActionInstr | AndInstr, readonly strict = false) {
    super();
  }
  override resetVerifier(env: InstrEnv): void {
    super.resetVerifier(env);
    this.instrA.resetVerifier(env);
    this.instrB.resetVerifier(env);
    this.aDone = false;
    this.bDone = false;
  }
  updateObjsPoss(): void {
    this.instrA.updateObjsPoss();
    this.instrB.updateObjsPoss();
  }
  numNavs(): number {
    return this.instrA.numNavs() + this.instrB.numNavs();
  }
  descs(): ObjDesc[] {
    return [...this.instrA.descs(), ...this.instrB.descs()];
  }
}

/** "A, then B". */
export class BeforeInstr extends SeqInstr {
  surface(env: InstrEnv): string {
    return this.instrA.surface(env) + ', then ' + this.instrB.surface(env);
  }
  verify(action: number): Status {
    if (this.aDone === 'success') {
      this.bDone = this.instrB.verify(action);
      if (this.bDone === 'failure') return 'failure';
      if (this.bDone === 'success') return 'success';
    } else {
      this.aDone = this.instrA.verify(action);
      if (this.aDone === 'failure') return 'failure';
      if (this.aDone === 'success') return this.verify(action);
      if (this.strict && this.instrB.verify(action) === 'success') return 'failure';
    }
    return 'continue';
  }
}

/** "A after you B" (B first). */
export class AfterInstr extends SeqInstr {
  surface(env: InstrEnv): string {
    return this.instrA.surface(env) + ' after you ' + this.instrB.surface(env);
  }
  verify(action: number): Status {
    if (this.bDone === 'success') {
      this.aDone = this.instrA.verify(action);
      if (this.aDone === 'success') return 'success';
      if (this.aDone === 'failure') return 'failure';
    } else {
      this.bDone = this.instrB.verify(action);
      if (this.bDone === 'failure') return 'failure';
      if (this.bDone === 'success') return this.verify(action);
      if (this.strict && this.instrA.verify(action) === 'success') return 'failure';
    }
    return 'continue';
  }
}

/** "A and B", in any order. */
export class AndInstr extends SeqInstr {
  constructor(instrA: ActionInstr, instrB: ActionInstr, strict = false) {
    if (!(instrA instanceof ActionInstr) || !(instrB instanceof ActionInstr)) {
      throw new GlamError('InvalidArgument', '"and" joins two action clauses (go to, pick up, open, put next)');
    }
    super(instrA, instrB, strict);
  }
  surface(env: InstrEnv): string {
    return this.instrA.surface(env) + ' and ' + this.instrB.surface(env);
  }
  verify(action: number): Status {
    if (this.aDone !== 'success') this.aDone = this.instrA.verify(action);
    if (this.bDone !== 'success') this.bDone = this.instrB.verify(action);
    if (this.aDone === 'success' && this.bDone === 'success') return 'success';
    return 'continue';
  }
}
