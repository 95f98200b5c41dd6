// trainPpo: GLAM's online PPO, read top to bottom like CleanRL's ppo.py:
// seed -> storage -> (rollout -> bootstrap -> GAE -> epochs x minibatches -> log) per update.
// The LLM is the policy: every step, all envs' prompts are scored in one fused call and an action is
// sampled from the softmax over the candidates. The update scores each minibatch again with gradients,
// the PPO loss and its gradient w.r.t. the candidates' log-probs and the values come from the pure
// functions of losses.ts, and the engine runs backward + AdamW.
// This is the loop only; a whole run (policy, run directory, checkpoints, resume, final save) is
// trainRun (run.ts), which `glam train` calls too.
// Subtle:
// - The engine's gradients are of sum(dLogprobs . logprobs) + sum(dValues . values); ppoLoss returns
//   exactly those coefficients (means over the minibatch included). Rewards are scaled by rewardScale
//   before GAE (GLAM: x20); success = a positive reward.
// - The rollout scores through a TokenScorer, which keeps the token ids: the epochs' forward passes
//   take those ids, not the text again. Both tokenize by cfg.tokenization ('lamorel' in GLAM's preset:
//   prompts without special tokens, as Lamorel encoded contexts).
// - shouldStop is polled before each update, after each rollout step and after each minibatch. A stop
//   during the rollout drops it (the policy has not changed: the last completed update stands); a stop
//   during the epochs ends the update there: it is logged (partial: true) and counts as done, since the
//   weights moved. Either way the policy is at a consistent point to save.
// - targetKl (CleanRL): after each epoch, an approx_kl of its last minibatch above targetKl ends the
//   update's epochs.
// - A value head whose widths differ from cfg.valueHidden on an untrained policy is an error, not a
//   silent change of model: Policy.load made it from its own default (load with valueHidden, or use trainRun).
// - With learners (learners.ts, CleanRL's multi-GPU recipe) each runs numEnvs / P of the job's envs,
//   seeded as the job's (GLAM's 100·seed + index), and minibatchSize / P rows of each minibatch; the
//   gradient is averaged over them before step. Stops, target_kl's approx_kl and the metrics are agreed
//   over the learners, so every learner takes the same steps; frames and SPS count the whole job.
import { GLAM_ACTIONS } from '../agent/actions.js';
import { LlmAgent } from '../agent/llm-agent.js';
import { GlamError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { Rng } from '../util/rng.js';
import { RolloutBuffer, shuffledMinibatches } from './buffer.js';
import type { ResolvedPpoConfig } from './config.js';
import { computeGae } from './gae.js';
import { SINGLE_LEARNER, learnerEnvSeed, shardSizes, type Learners } from './learners.js';
import { ppoLoss } from './losses.js';
import { MetricsAccumulator, explainedVariance, reduceMetrics, type UpdateMetrics } from './metrics.js';
import { TokenScorer } from './token-scorer.js';

export interface UpdateReport {
  update: number;
  frames: number;
  metrics: UpdateMetrics;
  /** Seconds spent in the envs (stepping + text), scoring the rollout, and the PPO update. */
  timing: { env: number; scoring: number; update: number; allreduce: number };
  /** Gradient bytes all-reduced by each learner in this update (0 for one learner). */
  allreduceBytes: number;
  /** Gradient steps taken (epochs × minibatches unless target_kl or a stop ended the epochs early). */
  gradientSteps: number;
  /** True when a stop request ended the epochs early. */
  partial: boolean;
}

/** Where an update is: its rollout steps, then its gradient steps. */
export interface UpdateProgress {
  update: number;
  phase: 'rollout' | 'epochs';
  /** Rollout steps, or gradient steps, done so far in this update. */
  done: number;
  total: number;
}

export interface TrainHooks {
  /** Called after every update (write logs, checkpoints, progress). */
  onUpdate?: (r: UpdateReport) => void | Promise<void>;
  /** Called after every rollout step and every gradient step. */
  onProgress?: (p: UpdateProgress) => void;
  /** Called with each complete rollout and its advantages, before the epochs (experiments, diagnostics). */
  onRollout?: (r: { update: number; buffer: RolloutBuffer; advantages: Float64Array; returns: Float64Array }) => void | Promise<void>;
  /** Polled before each update, after each rollout step and after each minibatch; true stops the run at a consistent point. */
  shouldStop?: () => boolean;
  /** Update to start from (resume); frames are counted from it. */
  startUpdate?: number;
  actions?: readonly string[];
  /** The data-parallel group (default SINGLE_LEARNER: this process alone). */
  learners?: Learners;
}

/** The value head's hidden widths, from its weights' shapes (value_head.<2i>.weight is [out, in]). */
function valueHeadWidths(policy: Policy): number[] {
  const t = policy.exportTensors('params', 'value_head') as Record<string, { shape: number[] }>;
  const layers = Object.keys(t).filter((n) => n.endsWith('.weight')).sort((a, b) => Number(a.split('.').at(-2)) - Number(b.split('.').at(-2)));
  return layers.slice(0, -1).map((n) => t[n]!.shape[0]!);
}

function checkValueHead(policy: Policy, cfg: ResolvedPpoConfig): void {
  const widths = valueHeadWidths(policy);
  const trained = (policy.trainingInfo().step ?? 0) > 0;
  if (!trained && widths.join(',') !== cfg.valueHidden.join(',')) {
    throw new GlamError('InvalidArgument',
      `The policy's value head is ${widths.join('-')} but the config's valueHidden is ${cfg.valueHidden.join('-')}: load the policy with ` +
      `Policy.load(dir, { valueHidden: [${cfg.valueHidden.join(', ')}] }), or let trainRun load it (as glam train does)`);
  }
}

/** Runs PPO updates startUpdate+1 .. cfg.numUpdates on `policy`; returns the number of updates completed. */
export async function trainPpo(policy: Policy, cfg: ResolvedPpoConfig, hooks: TrainHooks = {}): Promise<number> {
  // --- seeding
  const start = hooks.startUpdate ?? 0;
  const L = hooks.learners ?? SINGLE_LEARNER;
  const shard = shardSizes(cfg.numEnvs, cfg.minibatchSize, L.size);
  const rng = new Rng(cfg.seed * 1_000_003 + start + 104_729 * L.rank);
  const stop = () => L.agree(hooks.shouldStop?.() === true);
  // --- env, agent and storage (this learner's share of the envs)
  const agent = new LlmAgent(new TokenScorer(policy, cfg.tokenization), { level: cfg.level, numEnvs: shard.envs, seed: cfg.seed + start * 7919,
    seedScheme: L.size === 1 ? 'glam' : learnerEnvSeed(L.rank, shard.envs) }, hooks.actions ?? GLAM_ACTIONS, cfg.memory);
  const buffer = new RolloutBuffer({ numSteps: cfg.numSteps, numEnvs: shard.envs, rewardScale: cfg.rewardScale });
  const metrics = new MetricsAccumulator();
  let nextDone = new Uint8Array(shard.envs);
  if (!policy.trainingInfo().enabled) policy.enableTraining({ mode: 'full' });
  checkValueHead(policy, cfg);
  const gradSteps = cfg.updateEpochs * cfg.numMinibatches;

  let update = start;
  for (; update < cfg.numUpdates; ++update) {
    if (await stop()) break;
    const t0 = performance.now();
    let envTime = 0;
    let scoreTime = 0;
    // --- rollout: numSteps steps of all envs, one fused score call per step
    buffer.clear();
    let t = 0;
    for (; t < cfg.numSteps; ++t) {
      const s0 = performance.now();
      const step = await agent.act(rng, false);
      const s1 = performance.now();
      buffer.storeStep(t, { ...step, dones: nextDone });
      const res = agent.step(step.actions);
      buffer.storeRewards(t, res.rewards);
      nextDone = Uint8Array.from(res.terminated, (v, i) => v | res.truncated[i]!);
      for (const f of res.finished) if (f) metrics.addEpisode(f);
      scoreTime += s1 - s0;
      envTime += performance.now() - s1;
      hooks.onProgress?.({ update: update + 1, phase: 'rollout', done: t + 1, total: cfg.numSteps });
      if (await stop()) break;
    }
    if (t < cfg.numSteps) break; // stopped mid-rollout: drop it
    // --- bootstrap and GAE (truncation is treated as done, as GLAM does)
    const b0 = performance.now();
    const next = await agent.score();
    scoreTime += performance.now() - b0;
    const { advantages, returns } = computeGae({
      rewards: buffer.rewards, values: buffer.values, dones: buffer.dones, nextValue: next.r.values, nextDone, gamma: cfg.gamma, gaeLambda: cfg.gaeLambda,
    });
    await hooks.onRollout?.({ update: update + 1, buffer, advantages, returns });
    // --- update: epochs x minibatches of forward / backward / step; target_kl and a stop end it early
    const u0 = performance.now();
    let steps = 0;
    let partial = false;
    epochs: for (let epoch = 0; epoch < cfg.updateEpochs; ++epoch) {
      let approxKl = 0;
      for (const idx of shuffledMinibatches(buffer.size, shard.minibatch, rng)) {
        const mb = buffer.minibatch(idx, advantages, returns);
        const f = await policy.forward(mb.ids ? { tokens: mb.ids } : { prompts: mb.prompts, candidates: mb.candidates.map((c) => [...c]), tokenization: cfg.tokenization },
          { grad: true });
        const loss = ppoLoss({ ...mb, newLogprobs: f.logprobs, newValues: f.values }, cfg);
        await policy.zeroGrad();
        await policy.backward(f.handle, loss.dLogprobs, loss.dValues);
        await L.averageGradients(policy);
        await policy.step({ lr: cfg.learningRate, betas: [cfg.adamBetas[0], cfg.adamBetas[1]], eps: cfg.adamEps, weightDecay: cfg.weightDecay,
          maxGradNorm: Number.isFinite(cfg.maxGradNorm) ? cfg.maxGradNorm : 0 });
        metrics.addLosses(loss);
        approxKl = loss.approxKl;
        steps += 1;
        hooks.onProgress?.({ update: update + 1, phase: 'epochs', done: steps, total: gradSteps });
        if (await stop()) {
          partial = steps < gradSteps;
          break epochs;
        }
      }
      if (L.size > 1) approxKl = (await L.sum(new Float64Array([approxKl])))[0]! / L.size;
      if (cfg.targetKl !== null && approxKl > cfg.targetKl) break;
    }
    const updateTime = performance.now() - u0;
    // --- log (over the learners: episodes and minibatches pooled, frames and SPS of the whole job)
    const frames = (update + 1) * cfg.batchSize;
    metrics.set('charts/learning_rate', cfg.learningRate);
    metrics.set('charts/SPS', cfg.batchSize / ((performance.now() - t0) / 1000));
    const ev = explainedVariance(buffer.values, returns);
    if (Number.isFinite(ev)) metrics.set('losses/explained_variance', ev);
    const summary = L.size === 1 ? metrics.summary() : await reduceMetrics(metrics, (v) => L.sum(v));
    const comm = L.takeStats();
    await hooks.onUpdate?.({
      update: update + 1, frames, metrics: summary,
      timing: { env: envTime / 1000, scoring: scoreTime / 1000, update: updateTime / 1000, allreduce: comm.allreduceS }, allreduceBytes: comm.bytes,
      gradientSteps: steps, partial,
    });
    metrics.reset();
    if (partial) return update + 1;
  }
  return update;
}
