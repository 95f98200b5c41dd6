// Behaviour cloning on the expert bot's demonstrations (GLAM's BC-Bot baseline), through the same
// candidate scoring as PPO: the policy is the softmax over the candidates' summed token log-probs, and
// BC minimises the cross-entropy −log softmax(candidates)[expert action] with the engine's AdamW.
//
// Loop (mirrors trainPpo so the CLI, run directory and plots treat both alike):
//   demos = collectDemos(level, demoEpisodes bot episodes, GLAM prompts)     once, seeded
//   per update u: batch = the next batchSize transitions of the demo stream (numEnvs × numSteps of the
//     PPO config), updateEpochs × shuffled minibatches of forward(grad) / backward / step; log
//     losses/bc_loss and losses/bc_accuracy; every evalEvery updates (and after the last) a greedy
//     evaluation on held-out seeds logs eval/success_rate, eval/episodic_return, eval/episodic_length.
//
// Subtle:
// - Gradient: with p = softmax(l) over one prompt's candidates and a* the expert's, d(−log p[a*])/dl_k =
//   p_k − [k = a*]; the loss is the minibatch mean, so each row is divided by the minibatch size. The
//   value head gets no gradient (dValues = 0); AdamW still decays it when weightDecay > 0 (GLAM's PPO: 0).
// - The demo stream is a sequence of seeded permutations of the demos (pass k shuffled with seed
//   (seed, k)), and update u reads positions [u·B, (u+1)·B): a resumed run sees exactly the batches an
//   uninterrupted one would; minibatch shuffling is seeded by (seed, u) likewise.
// - shouldStop is also polled after each minibatch: a stop there ends the update early; it is logged
//   and counts as done (the weights moved), so the policy is at a consistent point to save.
// - With learners (learners.ts), learner r takes rows [r·m/P, (r+1)·m/P) of every minibatch of m rows
//   (the loss is its mean over them), the gradients are averaged over the learners before step, so
//   each step is the single learner's on the whole minibatch; losses are averaged over the learners,
//   and rank 0 alone evaluates (the replicas are identical), the others waiting at the next collective.
// - Demonstrations keep only episodes the bot solved (collectDemos' default), and use the run's prompt
//   memory, so the prompts are exactly what LlmAgent shows the policy when it is evaluated.
import { GLAM_ACTIONS } from '../agent/actions.js';
import { collectDemos } from '../agent/demos.js';
import { policyScorer } from '../agent/baselines.js';
import { evaluate } from '../agent/evaluate.js';
import { Rng } from '../util/rng.js';
import { GlamError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { shuffledMinibatches } from './buffer.js';
import type { ResolvedPpoConfig } from './config.js';
import { SINGLE_LEARNER, type Learners } from './learners.js';
import { candidateLogSoftmax, type NumArray } from './losses.js';
import type { BcSettings } from './run-dir.js';

export const BC_DEFAULTS: BcSettings = Object.freeze({ demoEpisodes: 200, demoSeed: 0, evalEvery: 10, evalEpisodes: 64, evalSeed: 1_000_000 });

export interface BcLossResult {
  /** Mean −log p(a*) over the minibatch. */
  loss: number;
  /** Fraction of rows whose most probable candidate is the expert's. */
  accuracy: number;
  /** (N candidates) gradient of `loss` w.r.t. the candidates' log-probs: (p − onehot(a*)) / B. */
  dLogprobs: Float64Array;
}

/**
 * The BC loss and its gradient w.r.t. the candidate log-probs `logprobs` (N), prompt b's candidates being
 * [candOffset[b], candOffset[b+1]) and `targets[b]` the expert's candidate index within them.
 */
export function bcLoss(logprobs: NumArray, candOffset: Int32Array, targets: ArrayLike<number>): BcLossResult {
  const B = candOffset.length - 1;
  if (B < 1 || targets.length !== B) {
    throw new GlamError('InvalidArgument', `Expected one target per prompt (${B}) but received ${targets.length}`);
  }
  const logp = candidateLogSoftmax(logprobs, candOffset);
  const d = new Float64Array(logprobs.length);
  let loss = 0;
  let hits = 0;
  for (let b = 0; b < B; b++) {
    const s = candOffset[b]!, e = candOffset[b + 1]!;
    const t = targets[b]!;
    if (!Number.isInteger(t) || t < 0 || s + t >= e) {
      throw new GlamError('InvalidArgument', `Expected a candidate index in [0, ${e - s}) for target ${b} but received ${String(t)}`);
    }
    loss -= logp[s + t]!;
    let best = s;
    for (let k = s; k < e; k++) {
      d[k] = Math.exp(logp[k]!) / B;
      if (logp[k]! > logp[best]!) best = k;
    }
    d[s + t] -= 1 / B;
    if (best === s + t) hits++;
  }
  return { loss: loss / B, accuracy: hits / B, dLogprobs: d };
}

/** Demonstrations as training rows: GLAM prompts and the expert's candidate index. */
export interface DemoSet {
  prompts: string[];
  actions: Int32Array;
  /** Bot episodes played / solved (only solved ones give rows). */
  episodes: number;
  successes: number;
}

/** Plays `episodes` bot episodes of `level` (seeds seed, seed+1, ...) and keeps the solved ones' decisions. */
export function loadDemos(level: string, o: { episodes: number; seed: number; memory: { observations: number; actions: number } }): DemoSet {
  const prompts: string[] = [];
  const actions: number[] = [];
  const it = collectDemos(level, { episodes: o.episodes, seed: o.seed, maxObservations: o.memory.observations, maxActions: o.memory.actions });
  for (;;) {
    const n = it.next();
    if (n.done) {
      if (prompts.length === 0) throw new GlamError('InvalidArgument', `The bot solved none of ${o.episodes} episodes of ${level}: no demonstrations`);
      return { prompts, actions: Int32Array.from(actions), episodes: n.value.episodes, successes: n.value.successes };
    }
    prompts.push(n.value.prompt);
    actions.push(n.value.actionId);
  }
}

/** Demo indices of update `update` (0-based): stream positions [update·B, (update+1)·B) over seeded passes. */
export function demoBatch(numDemos: number, batchSize: number, update: number, seed: number): Int32Array {
  const out = new Int32Array(batchSize);
  let pass = -1;
  let perm = new Int32Array(0);
  for (let i = 0; i < batchSize; i++) {
    const pos = update * batchSize + i;
    const p = Math.floor(pos / numDemos);
    if (p !== pass) {
      pass = p;
      perm = Int32Array.from({ length: numDemos }, (_, k) => k);
      const rng = new Rng(seed * 1_000_003 + 17 * p + 5);
      for (let k = numDemos - 1; k > 0; k--) {
        const j = rng.randInt(0, k + 1);
        const x = perm[k]!;
        perm[k] = perm[j]!;
        perm[j] = x;
      }
    }
    out[i] = perm[pos % numDemos]!;
  }
  return out;
}

export interface BcUpdateReport {
  update: number;
  /** Demonstration transitions drawn so far (update × batchSize). */
  frames: number;
  metrics: Record<string, number>;
  timing: { update: number; eval: number; allreduce: number };
  allreduceBytes: number;
}

export interface BcHooks {
  onUpdate?: (r: BcUpdateReport) => void | Promise<void>;
  shouldStop?: () => boolean;
  startUpdate?: number;
  /** Called once the demonstrations are collected. */
  onDemos?: (d: DemoSet) => void;
  /** Precollected demonstrations (tests); default loadDemos(cfg.level, bc). */
  demos?: DemoSet;
  /** Called after every gradient step. */
  onProgress?: (p: { update: number; phase: 'epochs'; done: number; total: number }) => void;
  /** The data-parallel group (default SINGLE_LEARNER). */
  learners?: Learners;
}

/** Behaviour cloning for cfg.numUpdates updates (see the file comment); returns the updates completed. */
export async function trainBc(policy: Policy, cfg: ResolvedPpoConfig, bc: BcSettings, hooks: BcHooks = {}): Promise<number> {
  const start = hooks.startUpdate ?? 0;
  const demos = hooks.demos ?? loadDemos(cfg.level, { episodes: bc.demoEpisodes, seed: bc.demoSeed, memory: cfg.memory });
  hooks.onDemos?.(demos);
  const candidates = demos.prompts.map(() => [...GLAM_ACTIONS]);
  if (!policy.trainingInfo().enabled) policy.enableTraining({ mode: 'full' });
  const B = cfg.batchSize;
  const L = hooks.learners ?? SINGLE_LEARNER;
  if (cfg.minibatchSize % L.size !== 0 || (B % cfg.minibatchSize) % L.size !== 0) {
    throw new GlamError('InvalidArgument', `${L.size} learners need every minibatch (${cfg.minibatchSize} rows, the last ${B % cfg.minibatchSize || cfg.minibatchSize}) ` +
      `to be a multiple of ${L.size}: change --minibatch or --learners`);
  }
  const stop = () => L.agree(hooks.shouldStop?.() === true);

  let update = start;
  for (; update < cfg.numUpdates; ++update) {
    if (await stop()) break;
    const u0 = performance.now();
    const batch = demoBatch(demos.prompts.length, B, update, cfg.seed);
    const rng = new Rng(cfg.seed * 1_000_003 + update);
    let lossSum = 0, accSum = 0, steps = 0, stopped = false;
    epochs: for (let epoch = 0; epoch < cfg.updateEpochs; ++epoch) {
      for (const mb of shuffledMinibatches(B, cfg.minibatchSize, rng)) {
        const share = mb.length / L.size;
        const rows = Array.from(mb.subarray(L.rank * share, (L.rank + 1) * share), (i) => batch[i]!);
        const f = await policy.forward({ prompts: rows.map((r) => demos.prompts[r]!), candidates: rows.map((r) => candidates[r]!), tokenization: cfg.tokenization },
          { grad: true });
        const l = bcLoss(f.logprobs, f.candOffset, rows.map((r) => demos.actions[r]!));
        await policy.zeroGrad();
        await policy.backward(f.handle, l.dLogprobs, new Float64Array(rows.length));
        await L.averageGradients(policy);
        await policy.step({ lr: cfg.learningRate, betas: [cfg.adamBetas[0], cfg.adamBetas[1]], eps: cfg.adamEps, weightDecay: cfg.weightDecay,
          maxGradNorm: Number.isFinite(cfg.maxGradNorm) ? cfg.maxGradNorm : 0 });
        lossSum += l.loss;
        accSum += l.accuracy;
        steps++;
        hooks.onProgress?.({ update: update + 1, phase: 'epochs', done: steps, total: cfg.updateEpochs * cfg.numMinibatches });
        if (await stop()) {
          stopped = true;
          break epochs;
        }
      }
    }
    const updateTime = (performance.now() - u0) / 1000;
    if (L.size > 1) [lossSum, accSum] = Array.from(await L.sum(new Float64Array([lossSum / L.size, accSum / L.size])));
    const metrics: Record<string, number> = {
      'losses/bc_loss': lossSum / steps, 'losses/bc_accuracy': accSum / steps, 'charts/SPS': B / updateTime, 'charts/learning_rate': cfg.learningRate,
    };
    const e0 = performance.now();
    if (L.isRoot && !stopped && ((update + 1) % bc.evalEvery === 0 || update + 1 === cfg.numUpdates)) { // a stop skips the evaluation
      const ev = await evaluate(policyScorer(policy, cfg.tokenization), { level: cfg.level, episodes: bc.evalEpisodes, greedy: true, seed: bc.evalSeed, memory: cfg.memory });
      metrics['eval/success_rate'] = ev.successRate;
      metrics['eval/success_ci_low'] = ev.ci95[0];
      metrics['eval/success_ci_high'] = ev.ci95[1];
      metrics['eval/episodic_return'] = ev.meanReturn;
      metrics['eval/episodic_length'] = ev.meanLength;
    }
    const comm = L.takeStats();
    await hooks.onUpdate?.({ update: update + 1, frames: (update + 1) * B, metrics,
      timing: { update: updateTime, eval: (performance.now() - e0) / 1000, allreduce: comm.allreduceS }, allreduceBytes: comm.bytes });
    if (stopped) return update + 1;
  }
  return update;
}
