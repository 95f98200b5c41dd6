// LlmAgent: GLAM's LLM agent over a vectorised BabyAI-Text env. It keeps each env's prompt memory,
// builds GLAM's prompts, scores every env's candidate actions in ONE call of its Scorer, and samples
// (or takes the argmax of) the softmax over the candidates. Used by the PPO rollout and by evaluation.
// Subtle: the memory follows GLAM's queues exactly: prompt, then remember the chosen action, step, and
// on an episode's end start the memory afresh from the reset observation (never the final one).
// The agent owns its VecEnv (made from AgentEnvOptions), so the trainer and evaluation reach the
// environment only through it.
// Legend: N envs, K candidates per env.
import { VecEnv, type VecEnvOptions, type VecObs, type VecStepResult } from '../env/vec-env.js';
import { listLevels } from '../env/registry.js';
import type { Rng } from '../util/rng.js';
import { DONE_ACTION_ID } from './actions.js';
import { PromptHistory, buildPrompt } from './prompt.js';
import type { CandidateScores, ScoredTokens, Scorer } from './scorer.js';

/** The envs an agent plays: a level, how many envs and how they are seeded, the text style. */
export interface AgentEnvOptions extends VecEnvOptions {
  level: string;
}

/** The level ids an agent can play. */
export function agentLevels(): string[] {
  return listLevels();
}

export interface AgentStep {
  prompts: string[]; // (N)
  candidates: (readonly string[])[]; // (N)(K)
  actions: Int32Array; // (N) chosen candidate index
  logprobs: Float64Array; // (N) log pi(a) under the candidate softmax
  values: Float32Array; // (N)
  /** The ids scored, when the scorer returns them. */
  ids?: ScoredTokens;
}

export class LlmAgent {
  readonly envs: VecEnv;
  readonly #histories: PromptHistory[];
  #obs: VecObs;

  constructor(
    readonly scorer: Scorer,
    env: AgentEnvOptions,
    readonly actions: readonly string[],
    memory: { observations: number; actions: number } = { observations: 3, actions: 2 },
    seed?: number,
  ) {
    const { level, ...vecOpts } = env;
    this.envs = new VecEnv(level, vecOpts);
    this.#histories = Array.from({ length: this.envs.numEnvs }, () => new PromptHistory({ maxObservations: memory.observations, maxActions: memory.actions }));
    this.#obs = this.envs.reset(seed === undefined ? {} : { seed });
    this.#histories.forEach((h, i) => h.reset(this.#obs.descriptions[i]!));
  }

  get numEnvs(): number {
    return this.envs.numEnvs;
  }

  /** The current prompt of every env. */
  prompts(): string[] {
    return this.#histories.map((h, i) => buildPrompt(this.#obs.missions[i]!, this.actions, h));
  }

  /** Scores every env's candidates in one call. */
  async score(): Promise<{ prompts: string[]; r: CandidateScores }> {
    const prompts = this.prompts();
    const r = await this.scorer.score({ prompts, candidates: prompts.map(() => [...this.actions]) });
    return { prompts, r };
  }

  /** Chooses an action per env (sampled from the candidate softmax, or greedy). */
  async act(rng: Rng, greedy: boolean): Promise<AgentStep> {
    const { prompts, r } = await this.score();
    const N = prompts.length;
    const K = this.actions.length;
    const actions = new Int32Array(N);
    const logprobs = new Float64Array(N);
    for (let n = 0; n < N; ++n) {
      const base = r.candOffset[n]!;
      let a = 0;
      if (greedy) {
        for (let k = 1; k < K; ++k) if (r.probs[base + k]! > r.probs[base + a]!) a = k;
      } else {
        let u = rng.nextFloat();
        a = K - 1;
        for (let k = 0; k < K; ++k) {
          u -= r.probs[base + k]!;
          if (u < 0) {
            a = k;
            break;
          }
        }
      }
      actions[n] = a;
      logprobs[n] = Math.log(Math.max(r.probs[base + a]!, 1e-30));
    }
    return { prompts, candidates: prompts.map(() => this.actions), actions, logprobs, values: r.values, ...(r.ids ? { ids: r.ids } : {}) };
  }

  /** Steps every env with the chosen candidates and updates the prompt memories. */
  step(actions: Int32Array): VecStepResult {
    // candidate index = MiniGrid action id; extra candidates (augmented spaces) act as "done", as GLAM does
    const ids = Array.from(actions, (a) => Math.min(a, DONE_ACTION_ID));
    this.#histories.forEach((h, i) => h.pushAction(this.actions[actions[i]!]!));
    const res = this.envs.step(ids);
    this.#obs = res.obs;
    this.#histories.forEach((h, i) => {
      if (res.finished[i]) h.reset(res.obs.descriptions[i]!);
      else h.pushObservation(res.obs.descriptions[i]!);
    });
    return res;
  }
}
