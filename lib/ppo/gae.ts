// Generalized Advantage Estimation (Schulman et al. 2016) over one rollout, exactly CleanRL's ppo.py
// loop, which is also GLAM's (torch-ac's collect_experiences with masks = 1 − done).
//
// Shapes (T = numSteps, N = numEnvs), row-major [t][n] at index t*N + n:
//   rewards (T, N)  r_t, the (scaled) reward received after acting at step t
//   values  (T, N)  V(s_t), the value of the observation acted on at step t
//   dones   (T, N)  CleanRL's convention: dones[t] = 1 when s_t is the FIRST observation of a new episode,
//                   i.e. the step t−1 ended an episode (with auto-reset, s_t already belongs to the next one)
//   nextValue (N)   V(s_T), the value of the observation after the last step (the bootstrap)
//   nextDone  (N)   1 when the last step (t = T−1) ended an episode
//
//   nextNonTerminal_t = 1 − (t < T−1 ? dones[t+1] : nextDone)
//   δ_t = r_t + γ · V_{t+1} · nextNonTerminal_t − V_t          (V_T = nextValue)
//   A_t = δ_t + γλ · nextNonTerminal_t · A_{t+1}               (A_T = 0)
//   returns_t = A_t + V_t                                       (GLAM's returnn; CleanRL's returns)
//
// Subtle: truncation is treated as termination. When an episode hits max_steps, `done` is set as for
// success or failure, so the value after the last step is NOT bootstrapped: the advantage of a truncated
// step is r − V rather than r + γV(s_final) − V. This is biased (the episode could have continued) but it
// is what GLAM (gym's old `done`), torch-ac and CleanRL do, and BabyAI's reward only arrives on success, so
// a truncated episode's true continuation value is small anyway. Reproducing GLAM wins over correctness here.
// Computed in float64 whatever the input type.

import { GlamError } from '../errors.js';
import type { NumArray } from './losses.js';

/** 0/1 flags, as VecEnv's Uint8Array or a float copy. */
export type FlagArray = Uint8Array | Float32Array | Float64Array;

export interface GaeInput {
  /** (T, N) rewards, already scaled. */
  readonly rewards: NumArray;
  /** (T, N) rollout values V(s_t). */
  readonly values: NumArray;
  /** (T, N) 1 where s_t starts a new episode (CleanRL's dones[t] = next_done before step t). */
  readonly dones: FlagArray;
  /** (N) V(s_T), the bootstrap after the last step. */
  readonly nextValue: NumArray;
  /** (N) 1 where the last step ended an episode. */
  readonly nextDone: FlagArray;
  /** Discount γ. */
  readonly gamma: number;
  /** GAE λ. */
  readonly gaeLambda: number;
}

export interface GaeResult {
  /** (T, N) A_t. */
  readonly advantages: Float64Array;
  /** (T, N) A_t + V_t, the value targets. */
  readonly returns: Float64Array;
}

/** GAE advantages and returns for a [numSteps][numEnvs] rollout (N = nextValue.length). */
export function computeGae(input: GaeInput): GaeResult {
  const { rewards, values, dones, nextValue, nextDone, gamma, gaeLambda } = input;
  const N = nextValue.length;
  if (N === 0) throw new GlamError('InvalidArgument', 'Expected at least one env for GAE nextValue but received an empty array');
  if (nextDone.length !== N) {
    throw new GlamError('InvalidArgument', `Expected ${N} entries (numEnvs) for GAE nextDone but received ${nextDone.length}`);
  }
  const TN = rewards.length;
  if (TN % N !== 0) {
    throw new GlamError('InvalidArgument', `Expected a multiple of numEnvs = ${N} for GAE rewards length but received ${TN}`);
  }
  if (values.length !== TN || dones.length !== TN) {
    throw new GlamError('InvalidArgument',
      `Expected ${TN} entries (numSteps × numEnvs) for GAE values and dones but received ${values.length} and ${dones.length}`);
  }
  if (!(gamma >= 0 && gamma <= 1) || !(gaeLambda >= 0 && gaeLambda <= 1)) {
    throw new GlamError('InvalidArgument', `Expected gamma and gaeLambda in [0, 1] for GAE but received ${gamma} and ${gaeLambda}`);
  }
  const T = TN / N;
  const advantages = new Float64Array(TN);
  const returns = new Float64Array(TN);
  for (let n = 0; n < N; n++) {
    let lastGaeLam = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * N + n;
      let nextNonTerminal: number;
      let nextValues: number;
      if (t === T - 1) {
        nextNonTerminal = 1 - (nextDone[n]! ? 1 : 0);
        nextValues = nextValue[n]!;
      } else {
        nextNonTerminal = 1 - (dones[i + N]! ? 1 : 0);
        nextValues = values[i + N]!;
      }
      // A finished episode's bootstrap is never read (so a NaN placeholder there cannot leak in).
      const delta = rewards[i]! + (nextNonTerminal ? gamma * nextValues : 0) - values[i]!;
      lastGaeLam = delta + gamma * gaeLambda * nextNonTerminal * lastGaeLam;
      advantages[i] = lastGaeLam;
      returns[i] = lastGaeLam + values[i]!;
    }
  }
  return { advantages, returns };
}
