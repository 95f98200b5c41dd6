// VecEnv: seeds per env (offset, GLAM's 100·seed+i, custom), lock-step equality with N envs stepped
// one by one (views, text, rewards, flags), auto-reset with the ended episode's summary, bot-driven
// successes, and bad input.

import { describe, expect, it } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { makeEnv, Rng, type Observation } from '../../lib/env/index.js';
import { VecEnv, type EpisodeInfo } from '../../lib/env/vec-env.js';
import { Bot } from '../../lib/env/bot/index.js';

const LEVEL = 'BabyAI-MixedTrainLocal-v0';

function slot(images: Uint8Array, i: number): number[] {
  return Array.from(images.subarray(i * 147, (i + 1) * 147));
}

describe('VecEnv seeding', () => {
  for (const [scheme, f] of [
    ['offset', (s: number, i: number) => s + i],
    ['glam', (s: number, i: number) => 100 * s + i],
  ] as const) {
    it(`seeds env i with the ${scheme} scheme`, () => {
      const venv = new VecEnv(LEVEL, { numEnvs: 4, seed: 3, seedScheme: scheme });
      const obs = venv.reset();
      expect(venv.seeds).toEqual([0, 1, 2, 3].map((i) => f(3, i)));
      for (let i = 0; i < 4; i++) {
        const ref = makeEnv(LEVEL).reset({ seed: f(3, i) });
        expect(obs.missions[i]).toBe(ref.mission);
        expect(obs.descriptions[i]).toEqual(ref.descriptions);
        expect(slot(obs.images, i)).toEqual(Array.from(ref.image));
        expect(obs.directions[i]).toBe(ref.direction);
      }
    });
  }

  it('accepts a custom scheme, continues streams on reset() and re-seeds on reset({ seed })', () => {
    const venv = new VecEnv(LEVEL, { numEnvs: 2, seed: 5, seedScheme: (s, i) => 1000 * i + s });
    const first = venv.reset();
    expect(venv.seeds).toEqual([5, 1005]);
    const ref = makeEnv(LEVEL);
    expect(first.missions[1]).toBe(ref.reset({ seed: 1005 }).mission);
    const second = venv.reset();
    expect(second.missions[1]).toBe(ref.reset().mission); // the env's own stream, not a re-seed
    const again = venv.reset({ seed: 5 });
    expect(again.missions).toEqual(first.missions);
    expect(slot(again.images, 0)).toEqual(slot(first.images, 0));
  });
});

describe('VecEnv stepping', () => {
  it('steps in lock-step with N separate envs, auto-resetting and summarising ended episodes', () => {
    const N = 6;
    const venv = new VecEnv(LEVEL, { numEnvs: N, seed: 11 });
    let obs = venv.reset();
    const refs = Array.from({ length: N }, (_, i) => makeEnv(LEVEL, { seed: 11 + i }));
    const refObs: Observation[] = refs.map((e, i) => e.reset({ seed: 11 + i }));
    const ret = new Array<number>(N).fill(0);
    const len = new Array<number>(N).fill(0);
    const rng = new Rng(1);
    let ended = 0;
    for (let t = 0; t < 400; t++) {
      // Mostly forward moves so that episodes end by success too, not only by truncation.
      const actions = Array.from({ length: N }, () => (rng.nextFloat() < 0.5 ? 2 : rng.randInt(0, 6)));
      const r = venv.step(actions);
      expect(r.rewards).toBeInstanceOf(Float32Array);
      expect(r.terminated).toBeInstanceOf(Uint8Array);
      expect(r.truncated).toBeInstanceOf(Uint8Array);
      expect(r.obs.images.length).toBe(N * 147);
      for (let i = 0; i < N; i++) {
        const s = refs[i]!.step(actions[i]!);
        ret[i]! += s.reward;
        len[i]!++;
        expect(r.rewards[i]).toBeCloseTo(s.reward, 6);
        expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
        expect(r.truncated[i]).toBe(s.truncated ? 1 : 0);
        if (s.done) {
          ended++;
          const info = r.finished[i] as EpisodeInfo;
          expect(info).not.toBeNull();
          expect(info.episodeReturn).toBeCloseTo(ret[i]!, 6);
          expect(info.length).toBe(len[i]);
          expect(info.success).toBe(s.terminated && s.reward > 0);
          expect(info.finalDescriptions).toEqual(s.obs.descriptions);
          refObs[i] = refs[i]!.reset();
          ret[i] = 0;
          len[i] = 0;
        } else {
          expect(r.finished[i]).toBeNull();
          refObs[i] = s.obs;
        }
        expect(r.obs.missions[i]).toBe(refObs[i]!.mission);
        expect(r.obs.descriptions[i]).toEqual(refObs[i]!.descriptions);
        expect(slot(r.obs.images, i)).toEqual(Array.from(refObs[i]!.image));
        expect(r.obs.directions[i]).toBe(refObs[i]!.direction);
      }
      obs = r.obs;
    }
    expect(ended).toBeGreaterThan(10);
    expect(obs.missions.length).toBe(N);
  });

  it('reports successes with BabyAI returns when bots drive every env', () => {
    const N = 8;
    const venv = new VecEnv('BabyAI-GoToLocal-v0', { numEnvs: N, seed: 0, seedScheme: 'glam' });
    venv.reset();
    let bots = venv.envs.map((e) => new Bot(e));
    const infos: EpisodeInfo[] = [];
    while (infos.length < 40) {
      const r = venv.step(bots.map((b) => b.replan()));
      bots = bots.map((b, i) => {
        const info = r.finished[i];
        if (info === null) return b;
        infos.push(info);
        return new Bot(venv.envs[i]!); // new episode, new bot
      });
    }
    for (const info of infos) {
      expect(info.success).toBe(true);
      expect(info.terminated).toBe(true);
      expect(info.episodeReturn).toBeCloseTo(1 - 0.9 * (info.length / 64), 5);
    }
  });

  it('leaves descriptions empty with text: false', () => {
    const venv = new VecEnv('BabyAI-GoToLocal-v0', { numEnvs: 2, text: false });
    expect(venv.reset().descriptions).toEqual([[], []]);
    expect(venv.step([2, 2]).obs.descriptions).toEqual([[], []]);
  });

  it('rejects bad input with InvalidArgument and steps no env on a bad action', () => {
    const bad = (f: () => unknown, msg: RegExp) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(GlamError);
        expect((e as GlamError).code).toBe('InvalidArgument');
        expect((e as Error).message).toMatch(msg);
        return;
      }
      throw new Error('expected a GlamError');
    };
    bad(() => new VecEnv(LEVEL, { numEnvs: 0 }), /positive integer for numEnvs/);
    bad(() => new VecEnv('BabyAI-Nope-v0', { numEnvs: 1 }), /Unknown level/);
    bad(() => new VecEnv(LEVEL, { numEnvs: 1, seedScheme: 'x' as never }), /seedScheme/);
    bad(() => new VecEnv(LEVEL, { numEnvs: 1, seed: 1.5 }), /integer seed/);
    bad(() => new VecEnv(LEVEL, { numEnvs: 2, seedScheme: () => Number.NaN }), /seed scheme/);
    const venv = new VecEnv(LEVEL, { numEnvs: 2 });
    bad(() => venv.step([0, 0]), /call reset\(\)/);
    venv.reset();
    bad(() => venv.step([0]), /Expected 2 actions/);
    bad(() => venv.step([2, 9]), /action id 0..6/);
    expect(venv.envs.map((e) => e.stepCount)).toEqual([0, 0]);
  });
});
