// PPO configuration: one documented object whose defaults are GLAM's paper run (GFlan-T5-large on
// BabyAI-MixedTrainLocal, campaign/Mixed_training/GFlan-T5_large.slurm), a preset for glam's built-in
// small model, one for pretrained models (LoRA, PRESET_TRAINING), and resolvePpoConfig(), which
// validates every field and computes the derived sizes once. Which preset a model gets: preset-choice.ts.
//
// Subtle:
// - Derived values (batchSize, numMinibatches, numUpdates) are computed here and nowhere else.
// - Minibatches are GLAM's (torch-ac's _get_batches_starting_indexes): a fresh permutation of the batch
//   cut into chunks of minibatchSize, the last one shorter when minibatchSize does not divide batchSize
//   (GLAM's 1280 / 64 divides). So numMinibatches = ceil(batchSize / minibatchSize).
// - numUpdates = ceil(totalFrames / batchSize): GLAM loops `while num_frames < num_steps`, so the last
//   update may go past totalFrames (1.5e6 / 1280 → 1172 updates). CleanRL floors instead.
// - Value clipping uses clipCoef (GLAM's one clip_eps for policy and value). GLAM's value loss has no
//   0.5 factor (CleanRL's has); see losses.ts.
// - Unknown keys are rejected: a misspelt key in a config file would otherwise silently train with a default.
//   The derived keys are accepted only if they equal what they derive to, so a resolved config written
//   as JSON (a run directory's config.json) resolves again; there maxGradNorm Infinity became null, and
//   null is read back as Infinity.

import { GlamError } from '../errors.js';
import { agentLevels as listLevels } from '../agent/llm-agent.js';
import { TOKENIZATIONS, type Tokenization } from '../policy/batch.js';

const DERIVED = ['batchSize', 'numMinibatches', 'numUpdates'] as const;

/** Every knob of a PPO run. One line per field; defaults are GLAM's (see `presetFor('glam')`). */
export interface PpoConfig {
  /** Environments stepped together per rollout step (GLAM number_envs = 32). */
  readonly numEnvs: number;
  /** Steps per environment per rollout (GLAM frames_per_proc = 40); batch = numEnvs × numSteps. */
  readonly numSteps: number;
  /** Passes over the rollout batch per update (GLAM epochs = 4). */
  readonly updateEpochs: number;
  /** Transitions per gradient step (GLAM batch_size = 64). */
  readonly minibatchSize: number;
  /** Adam step size, constant over the run (GLAM lr = 1e-6; no annealing). */
  readonly learningRate: number;
  /** Adam (beta1, beta2) (GLAM 0.9, 0.999). */
  readonly adamBetas: readonly [number, number];
  /** Adam epsilon (GLAM adam_eps = 1e-5, CleanRL's too; torch's default is 1e-8). */
  readonly adamEps: number;
  /** Decoupled weight decay (AdamW); 0 = plain Adam, GLAM's. */
  readonly weightDecay: number;
  /** Discount γ (GLAM discount = 0.99). */
  readonly gamma: number;
  /** GAE λ (GLAM gae_lambda = 0.99; CleanRL's default is 0.95). */
  readonly gaeLambda: number;
  /** PPO ratio clip ε, also the value clip when clipVloss (GLAM clip_eps = 0.2). */
  readonly clipCoef: number;
  /** Clip the value update to ±clipCoef around the rollout value (GLAM: always on). */
  readonly clipVloss: boolean;
  /** Entropy bonus coefficient (GLAM entropy_coef = 0.01). */
  readonly entCoef: number;
  /** Value loss coefficient (GLAM value_loss_coef = 0.5), applied to GLAM's value loss (no 0.5 inside). */
  readonly vfCoef: number;
  /** Global gradient L2 norm clip (GLAM max_grad_norm = 0.5); Infinity disables clipping. */
  readonly maxGradNorm: number;
  /** Stored reward = env reward × rewardScale (GLAM reward_function: 20 × reward). */
  readonly rewardScale: number;
  /** Normalise advantages per minibatch, CleanRL-style (GLAM: false). */
  readonly normAdv: boolean;
  /** Prompt memory (GLAM nbr_obs = 3): observations kept, the current one included, and actions kept (nbr_obs − 1). */
  readonly memory: { readonly observations: number; readonly actions: number };
  /** BabyAI-Text level id (GLAM: BabyAI-MixedTrainLocal-v0). */
  readonly level: string;
  /** Environment frames (steps summed over envs) to train for (GLAM num_steps = 1.5e6). */
  readonly totalFrames: number;
  /** Base seed: env seeds, action sampling and minibatch shuffling derive from it (GLAM env seeds 100·seed + i). */
  readonly seed: number;
  /** Hidden sizes of the value head's MLP when the run creates one (GLAM: 1024, 1024); a policy that has a value head keeps it. */
  readonly valueHidden: readonly number[];
  /** CleanRL's target_kl: stop an update's epochs once an epoch ends with approx_kl above it; null = never (GLAM). */
  readonly targetKl: number | null;
  /** Prompts and candidates to token ids (lib/policy/batch.ts) in rollout, update and evaluation. GLAM: 'lamorel', Lamorel's
   *  add_special_tokens=False for seq2seq and causal models alike (no T5 </s>, no BOS); 'separate': glam's own rule. */
  readonly tokenization: Tokenization;
}

/** A PpoConfig plus the sizes derived from it, computed once by resolvePpoConfig. */
export interface ResolvedPpoConfig extends PpoConfig {
  /** numEnvs × numSteps: transitions per update. */
  readonly batchSize: number;
  /** ceil(batchSize / minibatchSize): gradient steps per epoch (the last minibatch may be shorter). */
  readonly numMinibatches: number;
  /** ceil(totalFrames / batchSize): updates in the run. */
  readonly numUpdates: number;
}

/** What a caller may pass: any subset of the fields; memory may give only `observations` (actions then = observations − 1). */
export type PpoConfigInput = Partial<Omit<PpoConfig, 'memory' | 'maxGradNorm' | 'valueHidden' | 'targetKl'>> & {
  readonly targetKl?: number | null;
  readonly valueHidden?: readonly number[];
  readonly memory?: { readonly observations?: number; readonly actions?: number };
  /** As PpoConfig's; null (JSON's rendering of Infinity) also disables clipping. */
  readonly maxGradNorm?: number | null;
  readonly batchSize?: number;
  readonly numMinibatches?: number;
  readonly numUpdates?: number;
};

export type PpoPresetName = 'glam' | 'small' | 'pretrained';
export const PRESET_NAMES: readonly PpoPresetName[] = ['glam', 'small', 'pretrained'];

const GLAM: PpoConfig = Object.freeze({
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

const KEYS: readonly (keyof PpoConfig)[] = Object.keys(GLAM) as (keyof PpoConfig)[];

function describe(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v)} of type string`;
  if (Array.isArray(v)) return `[${v.map(String).join(', ')}] of type array`;
  if (v !== null && typeof v === 'object') {
    try { return `${JSON.stringify(v)} of type object`; } catch { return 'an object'; }
  }
  return `${String(v)} of type ${v === null ? 'null' : typeof v}`;
}

function invalid(field: string, expected: string, value: unknown): GlamError {
  return new GlamError('InvalidArgument', `Expected ${expected} for ${field} but received ${describe(value)}`);
}

function posInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(field, 'a positive integer', v);
  return v;
}

function inRange(field: string, v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw invalid(field, what, v);
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(field, 'a boolean', v);
  return v;
}

/**
 * Validates `input` over the defaults of `preset` (default 'glam') and returns a frozen config with the
 * derived sizes. Throws GlamError('InvalidArgument', "Expected X for Y but received Z") on the first bad field.
 */
export function resolvePpoConfig(input: PpoConfigInput = {}, preset: PpoPresetName = 'glam'): ResolvedPpoConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid('PPO config', 'an object', input);
  for (const k of Object.keys(input)) {
    if (!(KEYS as readonly string[]).includes(k) && !(DERIVED as readonly string[]).includes(k)) {
      throw invalid('PPO config key', `one of ${KEYS.join(', ')}`, k);
    }
  }
  const base = presetFor(preset);
  const c = { ...base, ...input } as Record<keyof PpoConfig | (typeof DERIVED)[number], unknown>;

  const numEnvs = posInt('numEnvs', c.numEnvs);
  const numSteps = posInt('numSteps', c.numSteps);
  const updateEpochs = posInt('updateEpochs', c.updateEpochs);
  const minibatchSize = posInt('minibatchSize', c.minibatchSize);
  const batchSize = numEnvs * numSteps;
  if (!Number.isSafeInteger(batchSize)) throw invalid('numEnvs × numSteps', 'a safe integer', batchSize);
  if (minibatchSize > batchSize) {
    throw invalid('minibatchSize', `an integer at most the batch size numEnvs × numSteps = ${batchSize}`, minibatchSize);
  }
  const learningRate = inRange('learningRate', c.learningRate, Number.MIN_VALUE, Infinity, 'a positive finite number');
  const betas = c.adamBetas;
  if (!Array.isArray(betas) || betas.length !== 2) throw invalid('adamBetas', 'a pair [beta1, beta2]', betas);
  const beta1 = inRange('adamBetas[0]', betas[0], 0, 1 - Number.EPSILON, 'a number in [0, 1)');
  const beta2 = inRange('adamBetas[1]', betas[1], 0, 1 - Number.EPSILON, 'a number in [0, 1)');
  const adamEps = inRange('adamEps', c.adamEps, Number.MIN_VALUE, Infinity, 'a positive finite number');
  const weightDecay = inRange('weightDecay', c.weightDecay, 0, Infinity, 'a non-negative finite number');
  const gamma = inRange('gamma', c.gamma, 0, 1, 'a number in [0, 1]');
  const gaeLambda = inRange('gaeLambda', c.gaeLambda, 0, 1, 'a number in [0, 1]');
  const clipCoef = inRange('clipCoef', c.clipCoef, Number.MIN_VALUE, Infinity, 'a positive finite number');
  const clipVloss = bool('clipVloss', c.clipVloss);
  const entCoef = inRange('entCoef', c.entCoef, 0, Infinity, 'a non-negative finite number');
  const vfCoef = inRange('vfCoef', c.vfCoef, 0, Infinity, 'a non-negative finite number');
  const mgn = c.maxGradNorm === null ? Infinity : c.maxGradNorm;
  if (typeof mgn !== 'number' || Number.isNaN(mgn) || !(mgn > 0)) throw invalid('maxGradNorm', 'a positive number (Infinity disables clipping)', mgn);
  const rewardScale = inRange('rewardScale', c.rewardScale, Number.MIN_VALUE, Infinity, 'a positive finite number');
  const normAdv = bool('normAdv', c.normAdv);

  const mem = c.memory as PpoConfigInput['memory'];
  if (mem === null || typeof mem !== 'object' || Array.isArray(mem)) throw invalid('memory', 'an object { observations, actions }', mem);
  for (const k of Object.keys(mem)) {
    if (k !== 'observations' && k !== 'actions') throw invalid('memory key', "'observations' or 'actions'", k);
  }
  // Only observations given: actions follow GLAM's nbr_obs − 1 rather than the preset's count.
  const observations = posInt('memory.observations', mem.observations ?? base.memory.observations);
  const actionsIn = mem.actions ?? (input.memory?.observations !== undefined ? observations - 1 : base.memory.actions);
  if (typeof actionsIn !== 'number' || !Number.isSafeInteger(actionsIn) || actionsIn < 0 || actionsIn > observations - 1) {
    throw invalid('memory.actions', `an integer in [0, ${observations - 1}] (memory.observations − 1)`, actionsIn);
  }

  const level = c.level;
  if (typeof level !== 'string' || !listLevels().includes(level)) throw invalid('level', `one of ${listLevels().join(', ')}`, level);
  const totalFrames = posInt('totalFrames', c.totalFrames);
  const seed = c.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) throw invalid('seed', 'a non-negative safe integer', seed);
  const vh = c.valueHidden;
  if (!Array.isArray(vh) || vh.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 65536)) {
    throw invalid('valueHidden', 'an array of layer widths (integers in [1, 65536]), e.g. [1024, 1024]', vh);
  }
  const targetKl = c.targetKl === null ? null : inRange('targetKl', c.targetKl, Number.MIN_VALUE, Infinity, 'a positive finite number or null (no early stop)');
  const tokenization = c.tokenization as Tokenization;
  if (!TOKENIZATIONS.includes(tokenization)) throw invalid('tokenization', `one of ${TOKENIZATIONS.map((t) => `'${t}'`).join(', ')}`, c.tokenization);

  const derived = { batchSize, numMinibatches: Math.ceil(batchSize / minibatchSize), numUpdates: Math.ceil(totalFrames / batchSize) };
  for (const k of DERIVED) {
    if (c[k] !== undefined && c[k] !== derived[k]) throw invalid(k, `${derived[k]} (derived from the other fields) or no value`, c[k]);
  }

  return Object.freeze({
    numEnvs, numSteps, updateEpochs, minibatchSize, learningRate,
    adamBetas: Object.freeze([beta1, beta2]) as readonly [number, number],
    adamEps, weightDecay, gamma, gaeLambda, clipCoef, clipVloss, entCoef, vfCoef, maxGradNorm: mgn, rewardScale, normAdv,
    memory: Object.freeze({ observations, actions: actionsIn }),
    level, totalFrames, seed, valueHidden: Object.freeze([...(vh as number[])]), targetKl, tokenization,
    ...derived,
  });
}
