// Rollout storage for one PPO update, CleanRL's `obs/actions/logprobs/rewards/dones/values` tensors
// with text instead of observation tensors, and the seeded minibatch shuffling of the update phase.
//
// Shapes (T = numSteps, N = numEnvs), every per-transition array row-major [t][n] at index t*N + n, so the
// flattened batch (CleanRL's b_* = x.reshape(-1)) is the storage itself and index i = t*N + n:
//   prompts (T·N) string, candidates (T·N) string[], actions (T·N) int32 candidate index,
//   logprobs (T·N) log π_old(a), values (T·N) V_old(s), rewards (T·N) scaled, dones (T·N) uint8.
// Subtle:
// - dones follow CleanRL (see gae.ts): dones[t] = 1 when s_t starts a new episode; storeStep receives the
//   `next_done` computed after the previous step, not the done of step t's own action.
// - Rewards are stored scaled (× rewardScale, GLAM's 20): GAE, values and returns all live in scaled units,
//   while episode returns in metrics stay in the env's units. GLAM scales only positive rewards (20·r if
//   r > 0 else 0); BabyAI never gives a negative reward, so a plain product is the same.
// - Candidate lists are stored by reference (all envs usually share one action vocabulary).
// - When the rollout's scorer returns the token ids it scored (StepRecord.ids), they are kept, and a
//   minibatch carries them: the update's forward passes then take ids, so PPO's epochs do not tokenize
//   the same prompts again. A rollout either keeps ids for every step or for none.
// - Minibatches are a fresh permutation per epoch cut into chunks of minibatchSize, the last chunk shorter
//   when the size does not divide the batch (GLAM's _get_batches_starting_indexes). The permutation is
//   Fisher–Yates driven by the seeded Rng, so a seed gives the same minibatches on every platform.

import { GlamError } from '../errors.js';
import type { ScoredTokens } from '../agent/scorer.js';
import type { Rng } from '../util/rng.js';
import type { NumArray } from './losses.js';

export interface RolloutBufferOptions {
  /** Steps per env per rollout (T). */
  readonly numSteps: number;
  /** Envs (N). */
  readonly numEnvs: number;
  /** Multiplier applied to env rewards when stored (GLAM 20). */
  readonly rewardScale: number;
}

/** What the rollout knows at step t before stepping the envs (all arrays have N entries). */
export interface StepRecord {
  /** (N) the prompts scored at this step. */
  readonly prompts: readonly string[];
  /** (N) each env's candidate actions. */
  readonly candidates: readonly (readonly string[])[];
  /** (N) 1 where this step's observation starts a new episode (CleanRL's next_done from the previous step). */
  readonly dones: Uint8Array | readonly number[];
  /** (N) chosen candidate index. */
  readonly actions: Int32Array | readonly number[];
  /** (N) log π(a) of the chosen candidate. */
  readonly logprobs: NumArray | readonly number[];
  /** (N) V(s) from the value head. */
  readonly values: NumArray | readonly number[];
  /** (N) the token ids scored (prompts and candidates), when the scorer returned them. */
  readonly ids?: ScoredTokens;
}

/** The stored part of a minibatch: add the engine's newLogprobs and newValues to get a PpoMinibatch. */
export interface RolloutMinibatch {
  /** (M) flat batch indices t*N + n. */
  readonly indices: Int32Array;
  /** (M) prompts, to score again with gradients. */
  readonly prompts: string[];
  /** (M) candidate lists, in the same order. */
  readonly candidates: (readonly string[])[];
  /** (M) their token ids, when the rollout kept them. */
  readonly ids?: ScoredTokens;
  /** (M+1) ragged offsets of the candidates, as Policy.score returns for these prompts. */
  readonly candOffset: Int32Array;
  /** (M) chosen candidate index. */
  readonly actions: Int32Array;
  /** (M) log π_old(a). */
  readonly oldLogprobs: Float64Array;
  /** (M) V_old(s). */
  readonly oldValues: Float64Array;
  /** (M) GAE advantages. */
  readonly advantages: Float64Array;
  /** (M) value targets. */
  readonly returns: Float64Array;
}

const STEP = 1, REWARD = 2;

function bad(what: string, expected: string, got: string): GlamError {
  return new GlamError('InvalidArgument', `Expected ${expected} for ${what} but received ${got}`);
}

export class RolloutBuffer {
  readonly numSteps: number;
  readonly numEnvs: number;
  readonly rewardScale: number;
  /** numSteps × numEnvs. */
  readonly size: number;
  /** (T·N) prompts. */
  readonly prompts: string[];
  /** (T·N) candidate lists. */
  readonly candidates: (readonly string[])[];
  /** (T·N) chosen candidate index. */
  readonly actions: Int32Array;
  /** (T·N) log π_old(a). */
  readonly logprobs: Float64Array;
  /** (T·N) V_old(s). */
  readonly values: Float64Array;
  /** (T·N) rewards × rewardScale. */
  readonly rewards: Float64Array;
  /** (T·N) 1 where s_t starts a new episode. */
  readonly dones: Uint8Array;
  /** (T·N) prompt token ids, when kept. */
  readonly promptIds: number[][];
  /** (T·N) candidate token ids, when kept. */
  readonly candidateIds: number[][][];
  #withIds = true;
  /** (T) bit 1: storeStep done, bit 2: storeRewards done. */
  readonly #filled: Uint8Array;

  constructor(options: RolloutBufferOptions) {
    const { numSteps, numEnvs, rewardScale } = options;
    if (!Number.isSafeInteger(numSteps) || numSteps < 1) throw bad('numSteps', 'a positive integer', String(numSteps));
    if (!Number.isSafeInteger(numEnvs) || numEnvs < 1) throw bad('numEnvs', 'a positive integer', String(numEnvs));
    if (typeof rewardScale !== 'number' || !Number.isFinite(rewardScale)) throw bad('rewardScale', 'a finite number', String(rewardScale));
    this.numSteps = numSteps;
    this.numEnvs = numEnvs;
    this.rewardScale = rewardScale;
    this.size = numSteps * numEnvs;
    this.prompts = new Array<string>(this.size).fill('');
    this.candidates = new Array<readonly string[]>(this.size).fill([]);
    this.promptIds = new Array<number[]>(this.size).fill([]);
    this.candidateIds = new Array<number[][]>(this.size).fill([]);
    this.actions = new Int32Array(this.size);
    this.logprobs = new Float64Array(this.size);
    this.values = new Float64Array(this.size);
    this.rewards = new Float64Array(this.size);
    this.dones = new Uint8Array(this.size);
    this.#filled = new Uint8Array(numSteps);
  }

  #checkStep(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.numSteps) throw bad('step', `an integer in [0, ${this.numSteps})`, String(t));
  }

  #checkLength(what: string, n: number): void {
    if (n !== this.numEnvs) throw bad(what, `${this.numEnvs} entries (numEnvs)`, `${n}`);
  }

  /** Stores step t's prompts, candidates, done flags, chosen actions, their log-probs and the values. */
  storeStep(t: number, r: StepRecord): void {
    this.#checkStep(t);
    const N = this.numEnvs;
    for (const [name, arr] of [['prompts', r.prompts], ['candidates', r.candidates], ['dones', r.dones],
      ['actions', r.actions], ['logprobs', r.logprobs], ['values', r.values]] as const) {
      this.#checkLength(name, arr.length);
    }
    if (r.ids) {
      this.#checkLength('ids.prompts', r.ids.prompts.length);
      this.#checkLength('ids.candidates', r.ids.candidates.length);
    }
    for (let n = 0; n < N; n++) {
      const cands = r.candidates[n]!;
      if (!Array.isArray(cands) || cands.length === 0) throw bad(`candidates[${n}]`, 'a non-empty list of action strings', String(cands));
      const a = r.actions[n]!;
      if (!Number.isInteger(a) || a < 0 || a >= cands.length) throw bad(`actions[${n}]`, `a candidate index in [0, ${cands.length})`, String(a));
      if (typeof r.prompts[n] !== 'string') throw bad(`prompts[${n}]`, 'a string', typeof r.prompts[n]);
      const i = t * N + n;
      this.prompts[i] = r.prompts[n]!;
      this.candidates[i] = cands;
      this.actions[i] = a;
      this.logprobs[i] = r.logprobs[n]!;
      this.values[i] = r.values[n]!;
      this.dones[i] = r.dones[n]! ? 1 : 0;
      if (r.ids) {
        this.promptIds[i] = r.ids.prompts[n]!;
        this.candidateIds[i] = r.ids.candidates[n]!;
      }
    }
    if (!r.ids) this.#withIds = false;
    this.#filled[t] |= STEP;
  }

  /** Stores the env rewards of step t (after env.step), multiplied by rewardScale. */
  storeRewards(t: number, rewards: NumArray | readonly number[]): void {
    this.#checkStep(t);
    this.#checkLength('rewards', rewards.length);
    const N = this.numEnvs;
    for (let n = 0; n < N; n++) this.rewards[t * N + n] = rewards[n]! * this.rewardScale;
    this.#filled[t] |= REWARD;
  }

  /** True when every step has both its record and its rewards. */
  isComplete(): boolean {
    return this.#filled.every((f) => f === (STEP | REWARD));
  }

  /** Marks every step unfilled for the next rollout (the arrays are overwritten, not zeroed). */
  clear(): void {
    this.#filled.fill(0);
    this.#withIds = true;
  }

  /** Gathers the transitions at `indices` (flat t*N + n) with their advantages and returns (T·N each). */
  minibatch(indices: Int32Array, advantages: Float64Array, returns: Float64Array): RolloutMinibatch {
    if (!this.isComplete()) {
      const t = this.#filled.findIndex((f) => f !== (STEP | REWARD));
      throw new GlamError('InvalidArgument', `Rollout incomplete: step ${t} lacks ${this.#filled[t]! & STEP ? 'its rewards' : 'its record'}; fill all ${this.numSteps} steps before taking minibatches`);
    }
    if (advantages.length !== this.size || returns.length !== this.size) {
      throw bad('advantages and returns', `${this.size} entries (numSteps × numEnvs)`, `${advantages.length} and ${returns.length}`);
    }
    const M = indices.length;
    if (M === 0) throw bad('minibatch indices', 'at least one index', '0');
    const prompts = new Array<string>(M);
    const candidates = new Array<readonly string[]>(M);
    const ids: ScoredTokens | undefined = this.#withIds ? { prompts: new Array<number[]>(M), candidates: new Array<number[][]>(M) } : undefined;
    const candOffset = new Int32Array(M + 1);
    const actions = new Int32Array(M);
    const oldLogprobs = new Float64Array(M), oldValues = new Float64Array(M);
    const adv = new Float64Array(M), ret = new Float64Array(M);
    for (let j = 0; j < M; j++) {
      const i = indices[j]!;
      if (!(i >= 0 && i < this.size)) throw bad(`minibatch index ${j}`, `an index in [0, ${this.size})`, String(i));
      prompts[j] = this.prompts[i]!;
      candidates[j] = this.candidates[i]!;
      if (ids) {
        ids.prompts[j] = this.promptIds[i]!;
        ids.candidates[j] = this.candidateIds[i]!;
      }
      candOffset[j + 1] = candOffset[j]! + this.candidates[i]!.length;
      actions[j] = this.actions[i]!;
      oldLogprobs[j] = this.logprobs[i]!;
      oldValues[j] = this.values[i]!;
      adv[j] = advantages[i]!;
      ret[j] = returns[i]!;
    }
    return { indices: indices.slice(), prompts, candidates, ...(ids ? { ids } : {}), candOffset, actions, oldLogprobs, oldValues, advantages: adv, returns: ret };
  }
}

/**
 * One epoch's minibatches: a uniformly random permutation of [0, batchSize) (Fisher–Yates with `rng`)
 * cut into chunks of minibatchSize, the last one shorter if minibatchSize does not divide batchSize.
 */
export function shuffledMinibatches(batchSize: number, minibatchSize: number, rng: Rng): Int32Array[] {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw bad('batchSize', 'a positive integer', String(batchSize));
  if (!Number.isSafeInteger(minibatchSize) || minibatchSize < 1) throw bad('minibatchSize', 'a positive integer', String(minibatchSize));
  const perm = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) perm[i] = i;
  for (let i = batchSize - 1; i > 0; i--) {
    const j = rng.randInt(0, i + 1);
    const x = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = x;
  }
  const out: Int32Array[] = [];
  for (let s = 0; s < batchSize; s += minibatchSize) out.push(perm.subarray(s, Math.min(s + minibatchSize, batchSize)).slice());
  return out;
}
