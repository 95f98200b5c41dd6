// glam's public API: the Policy over the native engine, model files, GLAM's PPO trainer and evaluation.
export { GlamError, type GlamErrorCode } from './errors.js';
export { Policy, type LoadOptions } from './policy/policy.js';
export { candidateSoftmax, type ScoreRequest, type ScoreResult } from './policy/score-result.js';
export { TextTokenizer } from './policy/tokenizer.js';
export { packBatch, tokenizeBatch, type TokenizedBatch, type Tokenization } from './policy/batch.js';
export { createValueHead, saveValueHead, loadValueHead } from './policy/value-head.js';
export { defaultModelDir, BUILTIN_MODEL } from './policy/default-model.js';
export { initModel, type InitModelOptions } from './model/init-model.js';
export { readModelConfig, type ModelConfig } from './io/model-config.js';
// GLAM's PPO loop and evaluation (the pure parts — GAE, losses, buffer, metrics writers — are in 'glam/ppo').
export { resolvePpoConfig, type PpoConfig, type PpoConfigInput, type ResolvedPpoConfig } from './ppo/config.js';
export { presetFor, type PpoPresetName } from './ppo/presets.js';
export { trainPpo, type TrainHooks, type UpdateProgress, type UpdateReport } from './ppo/trainer.js';
export { trainRun, type NewRunSpec, type ResumeSpec, type RunEvent, type RunHooks, type TrainRunResult } from './ppo/run.js';
export { SINGLE_LEARNER, mpiLearners, type Learners } from './ppo/learners.js';
export { presetForModel, type PresetChoice } from './ppo/preset-choice.js';
export { LlmAgent, type AgentEnvOptions, type AgentStep } from './agent/llm-agent.js';
export type { CandidateScores, ScoreBatch, Scorer, ScoredTokens } from './agent/scorer.js';
export { evaluate, wilson, type EvalOptions, type EvalResult } from './agent/evaluate.js';
