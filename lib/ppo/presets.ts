// The PPO presets: 'glam' (GLAM's paper run, GFlan-T5-large on BabyAI-MixedTrainLocal,
// campaign/Mixed_training/GFlan-T5_large.slurm: the defaults of every PpoConfig field), 'small' (glam's
// built-in small model on a CPU) and 'pretrained' (a pretrained model, trained with LoRA), and
// PRESET_TRAINING, how each trains the model. resolvePpoConfig (config.ts) validates a preset with a
// caller's overrides; which preset a model gets: preset-choice.ts.
//
// Subtle:
// - The presets are frozen and never handed out: presetFor returns a fresh copy (arrays and memory too),
//   so a caller mutating its copy cannot change the next one.
// - Each 'small' and 'pretrained' value that differs from GLAM's says why below; 'small' was chosen by
//   experiment (the figures are in the comment above it).

import { GlamError } from '../errors.js';
import type { PpoConfig } from './config.js';
import { describe } from './config-checks.js';

export type PpoPresetName = 'glam' | 'small' | 'pretrained';
export const PRESET_NAMES: readonly PpoPresetName[] = ['glam', 'small', 'pretrained'];

/** GLAM's paper settings; its keys are PpoConfig's (config.ts checks a caller's keys against them). */
export const GLAM: PpoConfig = Object.freeze({
  numEnvs: 32,
  numSteps: 40,
  updateEpochs: 4,
  minibatchSize: 64,
  learningRate: 1e-6,
  adamBetas: Object.freeze([0.9, 0.999]) as readonly [number, number],
  adamEps: 1e-5,
  weightDecay: 0,
  gamma: 0.99,
  gaeLambda: 0.99,
  clipCoef: 0.2,
  clipVloss: true,
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  rewardScale: 20,
  normAdv: false,
  memory: Object.freeze({ observations: 3, actions: 2 }),
  level: 'BabyAI-MixedTrainLocal-v0',
  totalFrames: 1_500_000,
  seed: 1,
  valueHidden: Object.freeze([1024, 1024]),
  targetKl: null,
  tokenization: 'lamorel',
});

// The built-in model (Llama-shaped, 2 layers, hidden 128, random weights) on a 2-core CPU. Each value
// differs from GLAM's only where the model or the machine forces it, and was chosen by experiment: a
// screen of seeded runs on GoToRedBallNoDists, greedy success on 64 held-out episodes (eval seed 999)
// every 10 updates (64 episodes pin a rate to ±0.12 at best: a screen, not a figure); the untrained
// model's greedy rate there is 0.06 (its candidate distribution is so peaked that sampling does no
// better; see the figures below).
//   GLAM's memory (3 observations, 2 actions):
//     seed 0: 0.06 at updates 10-30, 0.09 at 40, 0.22 at 50, 1.00 at 60 and 70
//     seed 1: 0.06 at updates 10-30, 0.63 at 40, 1.00 at 60
//     seed 2: 0.00-0.06 at updates 10-30, 0.73 at 40, 0.75 at 50, 1.00 at 60
//   1 observation, no actions (this preset):
//     seed 0: 0.06 at 10-20, 0.67 at 30, 1.00 at 40, 50 and 60
//     seed 1: 0.06 at 10-20, 1.00 at 30, 0.77 at 40, 0.78 at 50 and 60, 1.00 at 70
//     seed 2: 0.06 at 10-20, 0.73 at 30, 1.00 at 40, 50, 60 and 70
// The figures (issue 11): this preset as `glam train --seed S`, then `glam eval --policy RUN/final
// --episodes 1000 [--greedy]` on glam eval's held-out episodes (envs seeded 1000000 + i), success [95% CI]
// (scripts/learning-figures.sh, 2 idle x86 cores, ~160-170 s a run):
//     untrained:  greedy 0.043 [0.032, 0.057]   sampled 0.044 [0.033, 0.059]
//     seed 0:     greedy 0.985 [0.975, 0.991]   sampled 0.987 [0.978, 0.992]
//     seed 1:     greedy 0.985 [0.975, 0.991]   sampled 0.987 [0.978, 0.992]
//     seed 2:     greedy 0.955 [0.940, 0.966]   sampled 0.958 [0.944, 0.969]
//     seed 3:     greedy 0.985 [0.975, 0.991]   sampled 0.989 [0.980, 0.994]
//     seed 4:     greedy 0.986 [0.977, 0.992]   sampled 0.987 [0.978, 0.992]
// Float rounding decides a run: before the GEMM change of issue 14 seed 1 gave greedy 0.547 [0.516,
// 0.578] (its greedy policy ran out of steps in 45% of episodes; sampled 0.980), the others as above.
// Sampled success is steady over runs; greedy success at 60 updates is not (the screen's 64 episodes
// showed that seed-1 run as 0.78).
// The sampled policy learns first (sampled training success ~0.5 by update 20-40); the greedy one
// follows once the policy reads the observation instead of tilting one action's probability. One
// observation learns sooner and its prompts are ~2.5x shorter, so an update costs ~1.75x less: 60
// updates (30,720 frames) take ~3-4 minutes on 2 cores instead of ~6. (In this one-room level without
// distractors, a memoryless greedy policy suffices: turn until the ball is in view, then go to it.)
// lr 1e-4 with entCoef 0.01 collapsed the candidate entropy to ~0.5 within two updates and never
// succeeded.
const SMALL: PpoConfig = Object.freeze({
  ...GLAM,
  // 16 x 32 = 512 transitions per update: half GLAM's envs and shorter rollouts.
  numEnvs: 16,
  numSteps: 32,
  // 512 / 128 = 4 minibatches x 2 epochs = 8 Adam steps per update: cheaper updates, more of them.
  updateEpochs: 2,
  minibatchSize: 128,
  // A randomly initialised 2-layer model has nothing to forget (GLAM's 1e-6 suits a pretrained 780M one).
  learningRate: 3e-4,
  // The untrained model's candidate distribution is already peaked (candidates differ in token count);
  // a 5x entropy bonus keeps it exploring until the sparse reward shows up.
  entCoef: 0.05,
  // A level the small model can learn in minutes: one room, no distractors, the goal never changes.
  level: 'BabyAI-GoToRedBallNoDists-v0',
  totalFrames: 30_720,
  // Only the current observation in the prompt (GLAM: 3 observations, 2 actions); see above.
  memory: Object.freeze({ observations: 1, actions: 0 }),
  // GLAM's 1024-1024 head has ~10x the parameters of the 2x128 model it sits on; 64-64 fits it.
  valueHidden: Object.freeze([64, 64]),
  tokenization: 'separate', // glam's own rule (the built-in tokenizer adds no special tokens: Lamorel's ids too)
});

// A pretrained model knows language already: the run must teach it the task without damaging that.
// GLAM's settings with three guards: LoRA rank 8 (PRESET_TRAINING: base weights frozen, adapters start
// at zero so the first rollout is the model's own policy); lr 1e-5 (GLAM: 1e-6 with every weight; a
// few zero-started adapter weights need a larger step for the same change; the small preset's 3e-4
// took SmolLM2-135M to approx_kl 9.3 in one update and log p(" Paris" | "The capital of France is")
// from −0.26 to −0.86, issue 11); targetKl 0.02, CleanRL's early stop of the epochs. bench/ppo-pretrained.ts measures it.
const PRETRAINED: PpoConfig = Object.freeze({
  ...GLAM,
  learningRate: 1e-5,
  targetKl: 0.02,
  tokenization: 'separate', // glam's own rule: text as the model's tokenizer encodes it (`--preset glam`: Lamorel's)
});

/** How each preset trains the model: 'pretrained' uses LoRA, the others every weight. */
export const PRESET_TRAINING: Readonly<Record<PpoPresetName, { mode: 'full' } | { mode: 'lora'; rank: number; alpha: number }>> = Object.freeze({
  glam: { mode: 'full' }, small: { mode: 'full' }, pretrained: { mode: 'lora', rank: 8, alpha: 16 },
});

/** The named preset's config (a fresh copy): 'glam' = the paper's settings, 'small' = the built-in model on a CPU, 'pretrained' = a pretrained model (LoRA). */
export function presetFor(name: PpoPresetName): PpoConfig {
  const base = name === 'glam' ? GLAM : name === 'small' ? SMALL : name === 'pretrained' ? PRETRAINED : undefined;
  if (base === undefined) {
    throw new GlamError('InvalidArgument', `Expected 'glam' or 'small' for preset but received ${describe(name)} (or 'pretrained', the preset for a pretrained model)`);
  }
  return { ...base, adamBetas: [base.adamBetas[0], base.adamBetas[1]], memory: { ...base.memory }, valueHidden: [...base.valueHidden] };
}
