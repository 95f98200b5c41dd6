// GLAM's PPO loss over one minibatch and its exact gradient with respect to every candidate's
// log-likelihood and every transition's value: what the engine's backward pass is seeded with.
//
// Dimension legend: M = transitions in the minibatch, K_t = candidates of transition t, ΣK = Σ_t K_t.
// The policy of transition t is a softmax over its candidates' sequence log-likelihoods z (the engine's
// `logprobs`): p = softmax(z), log π(a) = z_a − logsumexp(z), H = −Σ_k p_k log p_k.
//
// The loss, as GLAM's PPOUpdater.perform_update (experiments/train_language_agent.py):
//   ratio = exp(log π(a) − oldLogprob)
//   pgLoss = −mean(min(ratio·A, clamp(ratio, 1 ± clip)·A))
//   vLoss  = mean(max((V − R)², (Vold + clamp(V − Vold, ±clip) − R)²))     (clipVloss; else mean((V − R)²))
//   loss   = pgLoss − entCoef · mean(H) + vfCoef · vLoss
// Subtle:
// - GLAM's value loss has NO 0.5 factor; CleanRL's is 0.5·max(...). With vfCoef = 0.5 the squared error
//   is weighted 0.5 here and 0.25 in CleanRL. We follow GLAM; `vLoss` (losses/value_loss) is reported
//   without the factor too.
// - Gradients, with g_t = ∂pg_t/∂log π(a) = −A·ratio when the unclipped surrogate is the min, else 0:
//     ∂loss/∂z_k = (1/M) · [ g_t · (δ_{k,a} − p_k) + entCoef · p_k · (log p_k + H_t) ]
//   (every candidate of t moves log π(a) through the softmax's normaliser, and H_t depends on all of
//   them), and ∂loss/∂V_t = (vfCoef/M) · 2(V − R), or 2(Vclip − R)·[|V − Vold| ≤ clip] when the clipped
//   term is the max. Ties take the unclipped branch; torch splits ties in half, and the two coincide
//   wherever a tie can occur with a nonzero gradient (ratio inside the clip range), so only
//   measure-zero points differ.
// - normAdv (off in GLAM) normalises A per minibatch with the unbiased std + 1e-8, as CleanRL; with
//   M = 1 the std is taken as 0 (torch gives NaN), so A becomes 0.
// - Everything is float64; a candidate with z = −∞ has p = 0 and contributes 0 to H and its gradient.

import { GlamError } from '../errors.js';

export type NumArray = Float32Array | Float64Array;

/** One minibatch of M transitions, gathered from the rollout, plus the engine's new outputs. */
export interface PpoMinibatch {
  /** (M+1) transition t's candidates are [candOffset[t], candOffset[t+1]); candOffset[0] = 0, K_t ≥ 1. */
  readonly candOffset: Int32Array;
  /** (ΣK) new sequence log-likelihoods of the candidates (the policy's logits). */
  readonly newLogprobs: NumArray;
  /** (M) chosen candidate, an index in [0, K_t). */
  readonly actions: Int32Array;
  /** (M) log π_old(a_t) recorded during the rollout. */
  readonly oldLogprobs: NumArray;
  /** (M) GAE advantages. */
  readonly advantages: NumArray;
  /** (M) V_old(s_t) recorded during the rollout. */
  readonly oldValues: NumArray;
  /** (M) value targets R_t = A_t + V_old(s_t). */
  readonly returns: NumArray;
  /** (M) new values from the engine's value head. */
  readonly newValues: NumArray;
}

/** The coefficients the loss reads; a ResolvedPpoConfig satisfies this. */
export interface PpoLossCoefs {
  readonly clipCoef: number;
  readonly clipVloss: boolean;
  readonly entCoef: number;
  readonly vfCoef: number;
  readonly normAdv: boolean;
}

export interface PpoLossResult {
  /** pgLoss − entCoef·entropyLoss + vfCoef·vLoss: what the gradients differentiate. */
  readonly loss: number;
  /** Clipped surrogate policy loss, mean over M. */
  readonly pgLoss: number;
  /** GLAM's value loss (no 0.5), mean over M. */
  readonly vLoss: number;
  /** Mean entropy of the candidate distributions. */
  readonly entropyLoss: number;
  /** mean(−logratio). */
  readonly oldApproxKl: number;
  /** mean((ratio − 1) − logratio), the lower-variance estimator (Schulman's k3). */
  readonly approxKl: number;
  /** Fraction of transitions with |ratio − 1| > clipCoef. */
  readonly clipFrac: number;
  /** (M) log π_new(a_t). */
  readonly newLogprob: Float64Array;
  /** (ΣK) ∂loss/∂newLogprobs. */
  readonly dLogprobs: Float64Array;
  /** (M) ∂loss/∂newValues. */
  readonly dValues: Float64Array;
}

function bad(what: string, expected: string, got: string): GlamError {
  return new GlamError('InvalidArgument', `Expected ${expected} for ${what} but received ${got}`);
}

/** Checks the ragged layout: candOffset (M+1) starting at 0, strictly increasing, ending at total. */
function checkOffsets(candOffset: Int32Array, total: number): number {
  const M = candOffset.length - 1;
  if (M < 1) throw bad('candOffset', 'at least 2 entries (M+1, M ≥ 1)', `${candOffset.length}`);
  if (candOffset[0] !== 0) throw bad('candOffset[0]', '0', `${candOffset[0]}`);
  for (let t = 0; t < M; t++) {
    if (candOffset[t + 1]! <= candOffset[t]!) {
      throw bad(`candOffset[${t + 1}]`, `a value above candOffset[${t}] = ${candOffset[t]} (every transition has ≥ 1 candidate)`, `${candOffset[t + 1]}`);
    }
  }
  if (candOffset[M] !== total) throw bad('candOffset[M]', `the number of candidate logprobs ${total}`, `${candOffset[M]}`);
  return M;
}

/** (ΣK) log-softmax of each transition's candidate logits: log π(k | s_t). */
export function candidateLogSoftmax(logits: NumArray, candOffset: Int32Array): Float64Array {
  const M = checkOffsets(candOffset, logits.length);
  const out = new Float64Array(logits.length);
  for (let t = 0; t < M; t++) {
    const s = candOffset[t]!, e = candOffset[t + 1]!;
    let m = -Infinity;
    for (let k = s; k < e; k++) if (logits[k]! > m) m = logits[k]!;
    let z = 0;
    for (let k = s; k < e; k++) z += Math.exp(logits[k]! - m);
    const lse = m + Math.log(z);
    for (let k = s; k < e; k++) out[k] = logits[k]! - lse;
  }
  return out;
}

/** (M) log π(a_t | s_t) of the chosen candidates: what the rollout stores as oldLogprobs. */
export function actionLogprobs(logits: NumArray, candOffset: Int32Array, actions: Int32Array): Float64Array {
  const logp = candidateLogSoftmax(logits, candOffset);
  const M = candOffset.length - 1;
  if (actions.length !== M) throw bad('actions', `${M} entries (one per transition)`, `${actions.length}`);
  const out = new Float64Array(M);
  for (let t = 0; t < M; t++) {
    const a = actions[t]!, K = candOffset[t + 1]! - candOffset[t]!;
    if (!(a >= 0 && a < K)) throw bad(`actions[${t}]`, `a candidate index in [0, ${K})`, `${a}`);
    out[t] = logp[candOffset[t]! + a]!;
  }
  return out;
}

/** GLAM's PPO loss on a minibatch, its statistics, and its gradient w.r.t. newLogprobs and newValues. */
export function ppoLoss(mb: PpoMinibatch, coefs: PpoLossCoefs): PpoLossResult {
  const { candOffset, newLogprobs, actions, oldLogprobs, advantages, oldValues, returns, newValues } = mb;
  const M = checkOffsets(candOffset, newLogprobs.length);
  for (const [name, arr] of [['actions', actions], ['oldLogprobs', oldLogprobs], ['advantages', advantages],
    ['oldValues', oldValues], ['returns', returns], ['newValues', newValues]] as const) {
    if (arr.length !== M) throw bad(name, `${M} entries (one per transition)`, `${arr.length}`);
  }
  const { clipCoef, clipVloss, entCoef, vfCoef, normAdv } = coefs;
  if (!(clipCoef > 0)) throw bad('clipCoef', 'a positive number', `${clipCoef}`);

  // Advantages are constants of the loss: normalising them changes values, not the gradient's form.
  let advMean = 0, advScale = 1;
  if (normAdv) {
    for (let t = 0; t < M; t++) advMean += advantages[t]!;
    advMean /= M;
    let ss = 0;
    for (let t = 0; t < M; t++) ss += (advantages[t]! - advMean) ** 2;
    const std = M > 1 ? Math.sqrt(ss / (M - 1)) : 0;
    advScale = 1 / (std + 1e-8);
  }

  const invM = 1 / M;
  const newLogprob = new Float64Array(M);
  const dLogprobs = new Float64Array(newLogprobs.length);
  const dValues = new Float64Array(M);
  let pgSum = 0, vSum = 0, entSum = 0, oldKlSum = 0, klSum = 0, clipped = 0;

  for (let t = 0; t < M; t++) {
    const s = candOffset[t]!, e = candOffset[t + 1]!;
    const a = actions[t]!;
    if (!(a >= 0 && a < e - s)) throw bad(`actions[${t}]`, `a candidate index in [0, ${e - s})`, `${a}`);

    // Softmax over the candidates (log-sum-exp for stability); dLogprobs holds log p_k for now.
    let m = -Infinity;
    for (let k = s; k < e; k++) if (newLogprobs[k]! > m) m = newLogprobs[k]!;
    let z = 0;
    for (let k = s; k < e; k++) z += Math.exp(newLogprobs[k]! - m);
    const lse = m + Math.log(z);
    let H = 0;
    for (let k = s; k < e; k++) {
      const lp = newLogprobs[k]! - lse;
      dLogprobs[k] = lp;
      const p = Math.exp(lp);
      if (p > 0) H -= p * lp;
    }
    const logpA = newLogprobs[s + a]! - lse;
    newLogprob[t] = logpA;

    // Clipped surrogate.
    const A = normAdv ? (advantages[t]! - advMean) * advScale : advantages[t]!;
    const logratio = logpA - oldLogprobs[t]!;
    const ratio = Math.exp(logratio);
    const surr1 = ratio * A;
    const clampedRatio = Math.min(Math.max(ratio, 1 - clipCoef), 1 + clipCoef);
    const surr2 = clampedRatio * A;
    pgSum += -Math.min(surr1, surr2);
    const gPg = surr1 <= surr2 ? -A * ratio : 0; // ∂pg_t/∂log π(a)
    oldKlSum += -logratio;
    klSum += ratio - 1 - logratio;
    if (Math.abs(ratio - 1) > clipCoef) clipped++;
    entSum += H;

    // ∂/∂z_k of pg_t − entCoef·H_t, then scaled by 1/M.
    for (let k = s; k < e; k++) {
      const lp = dLogprobs[k]!;
      const p = Math.exp(lp);
      const entTerm = p > 0 ? entCoef * p * (lp + H) : 0;
      dLogprobs[k] = (gPg * ((k === s + a ? 1 : 0) - p) + entTerm) * invM;
    }

    // Value loss, clipped as GLAM.
    const V = newValues[t]!, R = returns[t]!, Vold = oldValues[t]!;
    const d1 = V - R;
    let vt: number, gV: number;
    if (clipVloss) {
      const diff = V - Vold;
      const inside = diff >= -clipCoef && diff <= clipCoef;
      const vClipped = Vold + Math.min(Math.max(diff, -clipCoef), clipCoef);
      const d2 = vClipped - R;
      if (d1 * d1 >= d2 * d2) { vt = d1 * d1; gV = 2 * d1; } else { vt = d2 * d2; gV = inside ? 2 * d2 : 0; }
    } else {
      vt = d1 * d1; gV = 2 * d1;
    }
    vSum += vt;
    dValues[t] = vfCoef * gV * invM;
  }

  const pgLoss = pgSum * invM, vLoss = vSum * invM, entropyLoss = entSum * invM;
  return {
    loss: pgLoss - entCoef * entropyLoss + vfCoef * vLoss,
    pgLoss, vLoss, entropyLoss,
    oldApproxKl: oldKlSum * invM,
    approxKl: klSum * invM,
    clipFrac: clipped * invM,
    newLogprob, dLogprobs, dValues,
  };
}
