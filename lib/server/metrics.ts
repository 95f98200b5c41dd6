// Prometheus metrics of `glam serve` (prom-client, on a registry of its own so that two servers in one
// process, as in the tests, never share counters): queue depth, batch sizes in prompts and tokens,
// candidates scored, request latency by route, rejections by reason, and the process metrics
// (RSS, heap, event-loop lag) from prom-client's defaults.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { PassStats } from './batcher.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly batchPrompts: Histogram;
  readonly batchTokens: Histogram;
  readonly batchRequests: Histogram;
  readonly candidates: Counter;
  readonly latency: Histogram<'route'>;
  readonly rejections: Counter<'reason'>;
  readonly responses: Counter<'route' | 'status'>;

  constructor(queueDepth: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'glam_queue_depth', help: 'requests waiting for the engine (none of their prompts started)', registers, collect() { this.set(queueDepth()); } });
    this.batchPrompts = new Histogram({ name: 'glam_batch_prompts', help: 'prompts per fused pass', registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] });
    this.batchTokens = new Histogram({ name: 'glam_batch_tokens', help: 'packed tokens per fused pass', registers, buckets: [64, 256, 1024, 2048, 4096, 8192, 16384, 65536] });
    this.batchRequests = new Histogram({ name: 'glam_batch_requests', help: 'requests coalesced into a fused pass', registers, buckets: [1, 2, 4, 8, 16, 32, 64] });
    this.candidates = new Counter({ name: 'glam_candidates_scored_total', help: 'candidates scored (rate() is candidates/s)', registers });
    this.latency = new Histogram({
      name: 'glam_request_duration_seconds', help: 'request latency by route', labelNames: ['route'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.rejections = new Counter({ name: 'glam_rejections_total', help: 'rejected requests by reason (error code)', labelNames: ['reason'], registers });
    this.responses = new Counter({ name: 'glam_responses_total', help: 'responses by route and status', labelNames: ['route', 'status'], registers });
  }

  pass(s: PassStats): void {
    this.batchPrompts.observe(s.prompts);
    this.batchTokens.observe(s.tokens);
    this.batchRequests.observe(s.requests);
    this.candidates.inc(s.candidates);
  }
}
