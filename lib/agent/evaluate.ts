// evaluate: GLAM's evaluation protocol: run a policy on fresh seeded episodes of a level (sampled
// actions by default, greedy on request) until `episodes` have finished, and report the success rate
// with a 95% Wilson interval, the mean return and the mean length.
// Subtle:
// - The counted episodes are the first `episodes` to START, not the first to finish. Counting the first
//   finishers biases the rate upward: with many envs in parallel, short (mostly successful) episodes
//   finish first and the long ones still running at the end (mostly failures) would be dropped. Each env
//   slot's current episode carries its start index (envs 0..E-1 start episodes 0..E-1; an env that
//   finishes starts the next index); episodes with an index >= `episodes` run but are not counted.
// - Envs are seeded from `seed` with the offset scheme, so two evaluations with the same arguments see
//   the same episodes.
import { Rng } from '../util/rng.js';
import { GLAM_ACTIONS } from './actions.js';
import { LlmAgent, type AgentEnvOptions } from './llm-agent.js';
import type { Scorer } from './scorer.js';

export interface EvalOptions {
  level: string;
  episodes: number;
  greedy?: boolean;
  seed?: number;
  numEnvs?: number;
  actions?: readonly string[];
  /** Called after each counted episode with the episodes and successes so far (progress). */
  onEpisode?: (episodes: number, successes: number) => void;
  memory?: { observations: number; actions: number };
  textStyle?: AgentEnvOptions['textStyle'];
}

export interface EvalResult {
  episodes: number;
  successRate: number;
  ci95: [number, number];
  meanReturn: number;
  meanLength: number;
}

/** Wilson score interval for a binomial proportion (95%). */
export function wilson(successes: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959963984540054;
  const p = successes / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/** Evaluates `scorer` (a Policy, a baseline, any Scorer) on `o.episodes` fresh episodes. */
export async function evaluate(scorer: Scorer, o: EvalOptions): Promise<EvalResult> {
  const env: AgentEnvOptions = { level: o.level, numEnvs: Math.min(o.numEnvs ?? 32, o.episodes), seed: o.seed ?? 1_000_000, ...(o.textStyle ? { textStyle: o.textStyle } : {}) };
  const agent = new LlmAgent(scorer, env, o.actions ?? GLAM_ACTIONS, o.memory);
  const rng = new Rng(o.seed ?? 1_000_000);
  const started = Array.from({ length: agent.numEnvs }, (_, i) => i); // each env's episode start index
  let next = agent.numEnvs;
  let n = 0;
  let wins = 0;
  let ret = 0;
  let len = 0;
  while (n < o.episodes) {
    const s = await agent.act(rng, o.greedy ?? false);
    const res = agent.step(s.actions);
    for (let i = 0; i < res.finished.length; ++i) {
      const f = res.finished[i];
      if (!f) continue;
      const index = started[i]!;
      started[i] = next++;
      if (index >= o.episodes) continue;
      ++n;
      wins += f.success ? 1 : 0;
      ret += f.episodeReturn;
      len += f.length;
      o.onEpisode?.(n, wins);
    }
  }
  return { episodes: n, successRate: wins / n, ci95: wilson(wins, n), meanReturn: ret / n, meanLength: len / n };
}
