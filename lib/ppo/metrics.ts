// Per-update training metrics under CleanRL's TensorBoard names (plus charts/success_rate), and the
// explained variance of the value head.
//
// Subtle:
// - Every metric is the mean of its samples over the update: episodes that finished during the rollout
//   for charts/episodic_*, minibatches (all epochs) for losses/*. CleanRL logs the LAST minibatch's
//   losses and averages only clipfrac; the issue asks for means, which are also GLAM's (np.mean over
//   minibatches). Minibatch means are unweighted, as CleanRL's clipfrac, even when the last is shorter.
// - A metric with no sample in the update (no episode finished) is left out of the summary rather
//   than reported as 0 or NaN, so plots do not show false zeros.
// - Episode returns are in the env's units (BabyAI: 1 − 0.9·steps/max_steps on success), not scaled.
// - explainedVariance is CleanRL's 1 − Var(R − V)/Var(R) with population variances (np.var); NaN when
//   Var(R) = 0 (the JSON writer turns NaN into null).

import { GlamError } from '../errors.js';
import type { NumArray, PpoLossResult } from './losses.js';

/** Every metric glam logs, in logging order. */
export const METRIC_NAMES = Object.freeze([
  'charts/episodic_return',
  'charts/episodic_length',
  'charts/success_rate',
  'charts/SPS',
  'charts/learning_rate',
  'losses/value_loss',
  'losses/policy_loss',
  'losses/entropy',
  'losses/old_approx_kl',
  'losses/approx_kl',
  'losses/clipfrac',
  'losses/explained_variance',
] as const);
export type MetricName = (typeof METRIC_NAMES)[number];

/** One update's metrics; absent names had no sample. */
export type UpdateMetrics = Partial<Record<MetricName, number>>;

/** What metrics read from a finished episode (VecEnv's EpisodeInfo has these fields). */
export interface EpisodeSummary {
  readonly episodeReturn: number;
  readonly length: number;
  readonly success: boolean;
}

const NAME_SET = new Set<string>(METRIC_NAMES);

/** Averages each metric's samples over one update; summary() then reset() at the end of each update. */
export class MetricsAccumulator {
  readonly #sum = new Map<MetricName, number>();
  readonly #count = new Map<MetricName, number>();

  /** Adds one sample of `name`. */
  add(name: MetricName, value: number): void {
    if (!NAME_SET.has(name)) throw new GlamError('InvalidArgument', `Expected one of ${METRIC_NAMES.join(', ')} for metric name but received ${JSON.stringify(name)}`);
    if (typeof value !== 'number') throw new GlamError('InvalidArgument', `Expected a number for metric ${name} but received ${String(value)} of type ${typeof value}`);
    this.#sum.set(name, (this.#sum.get(name) ?? 0) + value);
    this.#count.set(name, (this.#count.get(name) ?? 0) + 1);
  }

  /** Replaces `name`'s samples by one value (for per-update quantities: SPS, learning rate, explained variance). */
  set(name: MetricName, value: number): void {
    this.#sum.delete(name);
    this.#count.delete(name);
    this.add(name, value);
  }

  /** Records a finished episode: its return, length and success. */
  addEpisode(ep: EpisodeSummary): void {
    this.add('charts/episodic_return', ep.episodeReturn);
    this.add('charts/episodic_length', ep.length);
    this.add('charts/success_rate', ep.success ? 1 : 0);
  }

  /** Records one minibatch's loss statistics. */
  addLosses(r: Pick<PpoLossResult, 'pgLoss' | 'vLoss' | 'entropyLoss' | 'oldApproxKl' | 'approxKl' | 'clipFrac'>): void {
    this.add('losses/policy_loss', r.pgLoss);
    this.add('losses/value_loss', r.vLoss);
    this.add('losses/entropy', r.entropyLoss);
    this.add('losses/old_approx_kl', r.oldApproxKl);
    this.add('losses/approx_kl', r.approxKl);
    this.add('losses/clipfrac', r.clipFrac);
  }

  /** Samples of `name` so far. */
  count(name: MetricName): number {
    return this.#count.get(name) ?? 0;
  }

  /** The mean of each metric with at least one sample, in METRIC_NAMES order. */
  summary(): UpdateMetrics {
    const out: UpdateMetrics = {};
    for (const name of METRIC_NAMES) {
      const c = this.#count.get(name);
      if (c) out[name] = this.#sum.get(name)! / c;
    }
    return out;
  }

  /** Each metric's sum and sample count, METRIC_NAMES order: [sum0, count0, sum1, count1, ...]. */
  totals(): Float64Array {
    const t = new Float64Array(2 * METRIC_NAMES.length);
    METRIC_NAMES.forEach((name, i) => {
      t[2 * i] = this.#sum.get(name) ?? 0;
      t[2 * i + 1] = this.#count.get(name) ?? 0;
    });
    return t;
  }

  /** Forgets every sample (start of the next update). */
  reset(): void {
    this.#sum.clear();
    this.#count.clear();
  }
}

/**
 * The metrics of several learners pooled: every learner's samples (sums and counts, `sum` adds them up
 * over the learners) averaged together, so episodes and minibatches count alike wherever they ran; the
 * per-update values (SPS, learning rate, explained variance) become their mean over the learners.
 */
export async function reduceMetrics(m: MetricsAccumulator, sum: (v: Float64Array) => Promise<Float64Array>): Promise<UpdateMetrics> {
  const t = await sum(m.totals());
  const out: UpdateMetrics = {};
  METRIC_NAMES.forEach((name, i) => {
    if (t[2 * i + 1]! > 0) out[name] = t[2 * i]! / t[2 * i + 1]!;
  });
  return out;
}

/** 1 − Var(R − V)/Var(R) over the batch (population variances); NaN when Var(R) = 0. */
export function explainedVariance(values: NumArray | readonly number[], returns: NumArray | readonly number[]): number {
  const n = returns.length;
  if (values.length !== n || n === 0) {
    throw new GlamError('InvalidArgument', `Expected equal non-zero lengths for values and returns but received ${values.length} and ${n}`);
  }
  let mr = 0, md = 0;
  for (let i = 0; i < n; i++) { mr += returns[i]!; md += returns[i]! - values[i]!; }
  mr /= n; md /= n;
  let vr = 0, vd = 0;
  for (let i = 0; i < n; i++) {
    vr += (returns[i]! - mr) ** 2;
    vd += (returns[i]! - values[i]! - md) ** 2;
  }
  return vr === 0 ? NaN : 1 - vd / vr;
}
