// BabyAI's instruction language: object descriptions, action clauses, combinators.
// defines: ObjDesc, posNextTo, OBJ_TYPES, LOC_NAMES (obj-desc.ts); Instr, ActionInstr, GoToInstr,
// PickupInstr, OpenInstr, PutNextInstr (instr.ts); SeqInstr, BeforeInstr, AfterInstr, AndInstr (sequence.ts).

export * from './obj-desc.js';
export * from './instr.js';
export * from './sequence.js';
