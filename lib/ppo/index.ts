// The pure parts of glam's PPO: config and its presets, GAE, the loss and its gradient, rollout storage, metrics and
// their writers (JSON lines, TensorBoard). defines (re-exported): everything below; nothing here calls the engine.
export { resolvePpoConfig, type PpoConfig, type PpoConfigInput, type ResolvedPpoConfig } from './config.js';
export { presetFor, type PpoPresetName } from './presets.js';
export { computeGae, type FlagArray, type GaeInput, type GaeResult } from './gae.js';
export { actionLogprobs, candidateLogSoftmax, ppoLoss, type NumArray, type PpoLossCoefs, type PpoLossResult, type PpoMinibatch } from './losses.js';
export { RolloutBuffer, shuffledMinibatches, type RolloutBufferOptions, type RolloutMinibatch, type StepRecord } from './buffer.js';
export { explainedVariance, METRIC_NAMES, MetricsAccumulator, type EpisodeSummary, type MetricName, type UpdateMetrics } from './metrics.js';
export { JsonlWriter, readJsonl } from './jsonl-writer.js';
export { crc32c, encodeFileVersionEvent, encodeRecord, encodeScalarsEvent, maskedCrc32c, TensorBoardWriter, type TensorBoardWriterOptions } from './tensorboard.js';
