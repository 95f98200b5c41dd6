// What every route of `glam serve` shares: the one Policy (all native work goes through its queue, in
// order), the batcher in front of it, metrics and the options.
import type { Policy } from '../policy/policy.js';
import type { Batcher } from './batcher.js';
import type { ServerMetrics } from './metrics.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** Bearer key; without one every route is open (loopback use). */
  apiKey?: string;
  /** Packed tokens per coalesced pass (a single longer prompt runs alone). */
  maxBatchTokens: number;
  maxWaitMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  /** false: one request per fused pass (the benchmark's baseline). */
  coalesce: boolean;
  allowTraining: boolean;
  /** Where /v1/train/save may write (required with allowTraining). */
  trainRoot?: string;
  /** Seconds a SIGTERM/SIGINT waits for in-flight requests. */
  shutdownTimeoutS: number;
  logLevel: string;
  /** The name /v1/models lists and responses carry. */
  modelName: string;
}

export const SERVE_DEFAULTS: Omit<ServeOptions, 'modelName'> = {
  host: '127.0.0.1', port: 8000, maxBatchTokens: 8192, maxWaitMs: 2, maxQueue: 256, maxBodyBytes: 2_000_000, coalesce: true,
  allowTraining: false, shutdownTimeoutS: 30, logLevel: 'info',
};

/**
 * --max-batch-tokens when not given: on the CPU the engine scores fastest a few prompts per pass
 * (bench/serve's notes: 2-4 GLAM prompts of ~150 tokens beat 16-64 by 2x, the activations stay in
 * cache), so passes stay small there; on the GPU a pass wants many rows.
 */
export function defaultMaxBatchTokens(device: 'cpu' | 'cuda'): number {
  return device === 'cpu' ? 1024 : 8192;
}

export interface ServerContext {
  policy: Policy;
  batcher: Batcher;
  metrics: ServerMetrics;
  opts: ServeOptions;
}
