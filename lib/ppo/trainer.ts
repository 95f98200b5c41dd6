// trainPpo: GLAM's online PPO, read top to bottom like CleanRL's ppo.py:
// seed -> storage -> (rollout -> bootstrap -> GAE -> epochs x minibatches -> log) per update.
// The LLM is the policy: every step, all envs' prompts are scored in one fused call and an action is
// sampled from the softmax over the candidates. The update scores each minibatch again with gradients,
// the PPO loss and its gradient w.r.t. the candidates' log-probs and the values come from the pure
// functions of losses.ts, and the engine runs backward + AdamW.
// Subtle: the engine's gradients are of sum(dLogprobs . logprobs) + sum(dValues . values); ppoLoss
// returns exactly those coefficients (means over the minibatch included). Rewards are scaled by
// rewardScale before GAE (GLAM: x20); success = a positive reward.
import { GLAM_ACTIONS } from '../agent/actions.js';
import { Rng } from '../env/rng.js';
import { VecEnv } from '../env/vec-env.js';
import type { Policy } from '../policy/policy.js';
import { LlmAgent } from './agent.js';
import { RolloutBuffer, shuffledMinibatches } from './buffer.js';
import type { ResolvedPpoConfig } from './config.js';
import { computeGae } from './gae.js';
import { ppoLoss } from './losses.js';
import { MetricsAccumulator, explainedVariance, type UpdateMetrics } from './metrics.js';

export interface UpdateReport {
  update: number;
  frames: number;
  metrics: UpdateMetrics;
  /** Seconds spent in the envs (stepping + text), scoring the rollout, and the PPO update. */
  timing: { env: number; scoring: number; update: number };
}

export interface TrainHooks {
  /** Called after every update (write logs, checkpoints, progress). */
  onUpdate?: (r: UpdateReport) => void | Promise<void>;
  /** Polled between updates; true stops the run cleanly (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Update to start from (resume); frames are counted from it. */
  startUpdate?: number;
  actions?: readonly string[];
}

export async function trainPpo(policy: Policy, cfg: ResolvedPpoConfig, hooks: TrainHooks = {}): Promise<number> {
  // --- seeding
  const start = hooks.startUpdate ?? 0;
  const rng = new Rng(cfg.seed * 1_000_003 + start);
  const actions = hooks.actions ?? GLAM_ACTIONS;
  // --- env and storage
  const envs = new VecEnv(cfg.level, { numEnvs: cfg.numEnvs, seed: cfg.seed + start * 7919, seedScheme: 'glam' });
  const agent = new LlmAgent(policy, envs, actions, cfg.memory);
  const buffer = new RolloutBuffer({ numSteps: cfg.numSteps, numEnvs: cfg.numEnvs, rewardScale: cfg.rewardScale });
  const metrics = new MetricsAccumulator();
  let nextDone = new Uint8Array(cfg.numEnvs);
  if (!policy.trainingInfo().enabled) policy.enableTraining({ mode: 'full' });

  let update = start;
  for (; update < cfg.numUpdates; ++update) {
    if (hooks.shouldStop?.()) break;
    const t0 = performance.now();
    let envTime = 0;
    let scoreTime = 0;
    // --- rollout: numSteps steps of all envs, one fused score call per step
    buffer.clear();
    for (let t = 0; t < cfg.numSteps; ++t) {
      const s0 = performance.now();
      const step = await agent.act(rng, false);
      const s1 = performance.now();
      buffer.storeStep(t, { prompts: step.prompts, candidates: step.candidates, dones: nextDone, actions: step.actions, logprobs: step.logprobs, values: step.values });
      const res = agent.step(step.actions);
      buffer.storeRewards(t, res.rewards);
      nextDone = Uint8Array.from(res.terminated, (v, i) => v | res.truncated[i]!);
      for (const f of res.finished) if (f) metrics.addEpisode(f);
      scoreTime += s1 - s0;
      envTime += performance.now() - s1;
    }
    // --- bootstrap and GAE (truncation is treated as done, as GLAM does)
    const b0 = performance.now();
    const next = await agent.score();
    scoreTime += performance.now() - b0;
    const { advantages, returns } = computeGae({
      rewards: buffer.rewards, values: buffer.values, dones: buffer.dones, nextValue: next.r.values, nextDone, gamma: cfg.gamma, gaeLambda: cfg.gaeLambda,
    });
    // --- update: epochs x minibatches of forward / backward / step
    const u0 = performance.now();
    for (let epoch = 0; epoch < cfg.updateEpochs; ++epoch) {
      for (const idx of shuffledMinibatches(buffer.size, cfg.minibatchSize, rng)) {
        const mb = buffer.minibatch(idx, advantages, returns);
        const f = await policy.forward({ prompts: mb.prompts, candidates: mb.candidates.map((c) => [...c]) }, { grad: true });
        const loss = ppoLoss({ ...mb, newLogprobs: f.logprobs, newValues: f.values }, cfg);
        await policy.zeroGrad();
        await policy.backward(f.handle, loss.dLogprobs, loss.dValues);
        await policy.step({ lr: cfg.learningRate, betas: [cfg.adamBetas[0], cfg.adamBetas[1]], eps: cfg.adamEps, weightDecay: cfg.weightDecay,
          maxGradNorm: Number.isFinite(cfg.maxGradNorm) ? cfg.maxGradNorm : 0 });
        metrics.addLosses(loss);
      }
    }
    const updateTime = performance.now() - u0;
    // --- log
    const frames = (update + 1) * cfg.batchSize;
    metrics.set('charts/learning_rate', cfg.learningRate);
    metrics.set('charts/SPS', cfg.batchSize / ((performance.now() - t0) / 1000));
    const ev = explainedVariance(buffer.values, returns);
    if (Number.isFinite(ev)) metrics.set('losses/explained_variance', ev);
    await hooks.onUpdate?.({ update: update + 1, frames, metrics: metrics.summary(), timing: { env: envTime / 1000, scoring: scoreTime / 1000, update: updateTime / 1000 } });
    metrics.reset();
  }
  return update;
}
