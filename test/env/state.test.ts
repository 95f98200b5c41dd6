// Replay state format: round trip envToState → envFromState, replay of a generated episode, and
// malformed states rejected with GlamError.

import { describe, expect, it } from 'vitest';
import { envFromState, envToState, listLevels, makeEnv, Rng, validateState, type EnvState } from '../../lib/env/index.js';
import { GlamError } from '../../lib/errors.js';
import { room8 } from './helpers.js';

describe('envToState / envFromState', () => {
  it('replays generated episodes of every level step for step', () => {
    const rng = new Rng(3);
    for (const id of listLevels()) {
      for (let seed = 0; seed < 4; seed++) {
        const env = makeEnv(id, { seed });
        const first = env.reset();
        const state = envToState(env);
        const replay = envFromState(JSON.parse(JSON.stringify(state)) as EnvState);
        const r0 = replay.reset();
        expect(r0.image).toEqual(first.image);
        expect(r0.descriptions).toEqual(first.descriptions);
        expect(replay.maxSteps).toBe(env.maxSteps);
        for (let t = 0; t < 80; t++) {
          const a = rng.randInt(0, 6);
          const x = env.step(a);
          const y = replay.step(a);
          expect([y.reward, y.terminated, y.truncated, y.status], `${id} ${seed} ${t}`).toEqual([x.reward, x.terminated, x.truncated, x.status]);
          expect(y.obs.image).toEqual(x.obs.image);
          expect(y.obs.descriptions).toEqual(x.obs.descriptions);
          if (x.done) break;
        }
        expect(replay.grid.encode()).toEqual(env.grid.encode());
      }
    }
  });

  it('reset() of a replay env returns to the recorded start', () => {
    const env = envFromState(room8(['>>..Ar......', '............', '............', '............', '............', '............'], 'go to the red ball'));
    const a = env.reset();
    env.step(2);
    env.step(2);
    const b = env.reset();
    expect(b.image).toEqual(a.image);
    expect(env.agentPos).toEqual([1, 1]);
    expect(env.stepCount).toBe(0);
  });

  it('keeps the language and uses French text for French states', () => {
    const state = room8(['>>..Ar......', '............', '............', '............', '............', '............'], 'go to the red ball', { language: 'french' });
    const env = envFromState(state);
    expect(env.reset().descriptions[0]).toMatch(/^Tu vois/);
    expect(envToState(env).language).toBe('french');
  });
});

describe('malformed states', () => {
  const good = room8(['>>..Ar......', '............', '............', '............', '............', '............'], 'go to the red ball');
  const cases: [string, (s: EnvState) => unknown][] = [
    ['null', () => null],
    ['no level', (s) => ({ ...s, level: '' })],
    ['bad language', (s) => ({ ...s, language: 'klingon' })],
    ['bad width', (s) => ({ ...s, width: 2 })],
    ['grid columns', (s) => ({ ...s, grid: s.grid.slice(1) })],
    ['grid cell', (s) => ({ ...s, grid: s.grid.map((c, x) => (x === 2 ? c.map((v, y) => (y === 2 ? [1, 0] : v)) : c)) })],
    ['unknown type', (s) => ({ ...s, grid: s.grid.map((c, x) => (x === 2 ? c.map((v, y) => (y === 2 ? [42, 0, 0] : v)) : c)) })],
    ['unknown colour', (s) => ({ ...s, grid: s.grid.map((c, x) => (x === 2 ? c.map((v, y) => (y === 2 ? [6, 9, 0] : v)) : c)) })],
    ['door state', (s) => ({ ...s, grid: s.grid.map((c, x) => (x === 2 ? c.map((v, y) => (y === 2 ? [4, 0, 7] : v)) : c)) })],
    ['agent outside', (s) => ({ ...s, agent: { pos: [8, 1], dir: 0 } })],
    ['agent in a wall', (s) => ({ ...s, agent: { pos: [0, 0], dir: 0 } })],
    ['bad dir', (s) => ({ ...s, agent: { pos: [1, 1], dir: 4 } })],
    ['carrying a door', (s) => ({ ...s, carrying: [4, 0, 1] })],
    ['carrying shape', (s) => ({ ...s, carrying: [5, 0] })],
    ['mission', (s) => ({ ...s, mission: 'fly to the moon' })],
    ['max_steps', (s) => ({ ...s, max_steps: 0 })],
    ['room size', (s) => ({ ...s, width: 9, grid: [...s.grid, s.grid[0]!] })],
  ];
  for (const [name, mutate] of cases) {
    it(name, () => {
      expect(() => envFromState(mutate(structuredClone(good)))).toThrow(GlamError);
    });
  }

  it('validateState accepts a good state', () => {
    expect(() => validateState(good)).not.toThrow();
  });
});
