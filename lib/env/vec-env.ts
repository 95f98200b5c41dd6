// A vectorised BabyAI-Text env: N envs of one level stepped by one call, with per-env seeds and
// automatic reset, returning flat typed arrays (what a PPO rollout stores) plus the text observations.
//
//   const venv = new VecEnv('BabyAI-GoToLocal-v0', { numEnvs: 32, seed: 1, seedScheme: 'glam' });
//   let obs = venv.reset();
//   const r = venv.step(actions);        // r.obs, r.rewards, r.terminated, r.truncated, r.finished
//
// Shapes (N = numEnvs): images (N, 7, 7, 3) uint8 with env n's view at n*147 (view[(i*7+j)*3+k], as
// Observation.image); directions (N) uint8; rewards (N) float32; terminated / truncated (N) uint8 0/1.
// Subtle points:
// - Seeds: env i is seeded once, at the first reset (or reset({ seed })), with `seed + i` ('offset',
//   default) or GLAM's `100*seed + i` ('glam'); later episodes continue that env's own random stream,
//   as gym envs seeded once do (GLAM seeds each env once, then only calls reset()).
// - Auto-reset (GLAM's ParallelEnv, gym's "same-step" mode): when env n's episode ends at a step,
//   it is reset at once, so obs[n] of that step is the *new* episode's first observation; the ended
//   episode's return, length, success and last descriptions are in finished[n] (null otherwise).
// - Success is GLAM's: the episode ended with a positive reward.
// - The returned arrays are fresh at every call: a rollout may keep them.

import { GlamError } from '../errors.js';
import { checkAction } from './actions.js';
import { AGENT_VIEW_SIZE } from './constants.js';
import { makeEnv, type MakeEnvOptions } from './registry.js';
import type { RoomGridLevel } from './levels/roomgrid-level.js';
import { describeView } from './text/describe.js';

const VIEW_BYTES = AGENT_VIEW_SIZE * AGENT_VIEW_SIZE * 3; // 147

/** How env i's seed is derived from the base seed. */
export type SeedScheme = 'offset' | 'glam' | ((seed: number, index: number) => number);

export interface VecEnvOptions extends Omit<MakeEnvOptions, 'seed'> {
  /** Number of envs (≥ 1). */
  numEnvs: number;
  /** Base seed (default 0). */
  seed?: number;
  /** 'offset' (default): seed + i; 'glam': 100·seed + i (GLAM's train_language_agent.py); or a function. */
  seedScheme?: SeedScheme;
}

export interface VecObs {
  /** (N, 7, 7, 3) egocentric views. */
  images: Uint8Array;
  /** (N) agent directions, 0 east … 3 north. */
  directions: Uint8Array;
  /** (N) missions. */
  missions: string[];
  /** (N) GLAM text observations (empty lists when built with text: false). */
  descriptions: string[][];
}

/** An episode that ended at this step. */
export interface EpisodeInfo {
  /** Sum of the episode's rewards (BabyAI gives one reward, at the end). */
  episodeReturn: number;
  /** Steps taken. */
  length: number;
  /** Ended with a positive reward. */
  success: boolean;
  terminated: boolean;
  truncated: boolean;
  mission: string;
  /** Text observation after the last step (before the auto-reset). */
  finalDescriptions: string[];
}

export interface VecStepResult {
  /** Observations after the step (after the auto-reset for envs whose episode ended). */
  obs: VecObs;
  /** (N) rewards of this step. */
  rewards: Float32Array;
  /** (N) 1 where the episode ended by success or failure. */
  terminated: Uint8Array;
  /** (N) 1 where the episode hit max_steps. */
  truncated: Uint8Array;
  /** (N) the ended episode's summary where terminated or truncated, else null. */
  finished: (EpisodeInfo | null)[];
}

function seedOf(scheme: SeedScheme, seed: number, i: number): number {
  const s = scheme === 'offset' ? seed + i : scheme === 'glam' ? 100 * seed + i : scheme(seed, i);
  if (!Number.isSafeInteger(s)) throw new GlamError('InvalidArgument', `The seed scheme gave env ${i} the seed ${String(s)}; it must give integers`);
  return s;
}

export class VecEnv {
  readonly levelId: string;
  readonly numEnvs: number;
  readonly envs: readonly RoomGridLevel[];
  readonly seedScheme: SeedScheme;
  /** (N) seed each env was last seeded with. */
  readonly seeds: number[];
  /** (N) return and length of the running episodes. */
  readonly #returns: Float64Array;
  readonly #lengths: Int32Array;
  #started = false;
  #baseSeed: number;

  constructor(levelId: string, opts: VecEnvOptions) {
    if (opts === null || typeof opts !== 'object') throw new GlamError('InvalidArgument', 'Expected options { numEnvs, seed?, seedScheme?, ... } for VecEnv');
    const n = opts.numEnvs;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new GlamError('InvalidArgument', `Expected a positive integer for numEnvs but received ${String(n)} of type ${typeof n}`);
    }
    const scheme = opts.seedScheme ?? 'offset';
    if (scheme !== 'offset' && scheme !== 'glam' && typeof scheme !== 'function') {
      throw new GlamError('InvalidArgument', `Expected 'offset', 'glam' or a function (seed, i) => number for seedScheme but received ${JSON.stringify(scheme)}`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new GlamError('InvalidArgument', `Expected an integer seed but received ${String(opts.seed)}`);
    const { numEnvs: _n, seed: _s, seedScheme: _sc, ...envOpts } = opts;
    this.levelId = levelId;
    this.numEnvs = n;
    this.seedScheme = scheme;
    this.#baseSeed = seed;
    this.seeds = Array.from({ length: n }, (_, i) => seedOf(scheme, seed, i));
    this.envs = this.seeds.map((s) => makeEnv(levelId, { ...envOpts, seed: s }));
    this.#returns = new Float64Array(n);
    this.#lengths = new Int32Array(n);
  }

  /**
   * Starts a new episode in every env. The first call (or one given a seed) seeds env i with the seed
   * scheme; later calls continue each env's random stream.
   */
  reset(opts: { seed?: number } = {}): VecObs {
    if (opts.seed !== undefined) {
      if (!Number.isSafeInteger(opts.seed)) throw new GlamError('InvalidArgument', `Expected an integer seed but received ${String(opts.seed)}`);
      this.#baseSeed = opts.seed;
    }
    const reseed = !this.#started || opts.seed !== undefined;
    const obs = this.#emptyObs();
    for (let i = 0; i < this.numEnvs; i++) {
      if (reseed) this.seeds[i] = seedOf(this.seedScheme, this.#baseSeed, i);
      this.envs[i]!.reset(reseed ? { seed: this.seeds[i]! } : {});
      this.#returns[i] = 0;
      this.#lengths[i] = 0;
      this.#observe(i, obs);
    }
    this.#started = true;
    return obs;
  }

  /** Steps every env with its action (MiniGrid ids 0..6), auto-resetting the envs whose episode ended. */
  step(actions: ArrayLike<number>): VecStepResult {
    if (!this.#started) throw new GlamError('InvalidArgument', 'The VecEnv has not been reset; call reset() before step()');
    if (actions == null || typeof actions !== 'object' || actions.length !== this.numEnvs) {
      throw new GlamError('InvalidArgument', `Expected ${this.numEnvs} actions (one per env) but received ${actions == null ? String(actions) : `${String(actions.length)} actions`}`);
    }
    const n = this.numEnvs;
    for (let i = 0; i < n; i++) checkAction(actions[i]!); // all or nothing: no env steps on bad input
    const obs = this.#emptyObs();
    const rewards = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const finished: (EpisodeInfo | null)[] = new Array<EpisodeInfo | null>(n).fill(null);
    for (let i = 0; i < n; i++) {
      const env = this.envs[i]!;
      const out = env.act(actions[i]!);
      rewards[i] = out.reward;
      this.#returns[i] += out.reward;
      this.#lengths[i]++;
      if (out.terminated || out.truncated) {
        terminated[i] = out.terminated ? 1 : 0;
        truncated[i] = out.truncated ? 1 : 0;
        this.#observe(i, obs);
        finished[i] = {
          episodeReturn: this.#returns[i]!,
          length: this.#lengths[i]!,
          success: out.terminated && out.reward > 0,
          terminated: out.terminated,
          truncated: out.truncated,
          mission: env.mission,
          finalDescriptions: obs.descriptions[i]!,
        };
        env.reset();
        this.#returns[i] = 0;
        this.#lengths[i] = 0;
      }
      this.#observe(i, obs);
    }
    return { obs, rewards, terminated, truncated, finished };
  }

  #emptyObs(): VecObs {
    const n = this.numEnvs;
    return { images: new Uint8Array(n * VIEW_BYTES), directions: new Uint8Array(n), missions: new Array<string>(n), descriptions: new Array<string[]>(n) };
  }

  /** Writes env i's current observation into slot i of `obs`. */
  #observe(i: number, obs: VecObs): void {
    const env = this.envs[i]!;
    const off = i * VIEW_BYTES;
    env.writeView(obs.images, off);
    obs.directions[i] = env.agentDir;
    obs.missions[i] = env.mission;
    obs.descriptions[i] = env.text
      ? describeView(obs.images.subarray(off, off + VIEW_BYTES), env.carrying === null ? null : env.carrying.encode(), env.textStyle)
      : [];
  }
}
