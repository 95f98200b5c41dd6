// PPO configuration: one documented object whose defaults are GLAM's paper run (the presets, PRESET_NAMES,
// PRESET_TRAINING and presetFor live in presets.ts; which preset a model gets: preset-choice.ts), and
// resolvePpoConfig(), which validates every field over a preset and computes the derived sizes once.
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
import { bool, inRange, invalid, posInt } from './config-checks.js';
import { GLAM, presetFor, type PpoPresetName } from './presets.js';

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

const KEYS: readonly (keyof PpoConfig)[] = Object.keys(GLAM) as (keyof PpoConfig)[];

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
