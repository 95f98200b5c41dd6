// The expert bot: ≥ 99% success over 1,000 seeded episodes of every registered level (a table of
// per-level rates is printed), action-for-action parity with MiniGrid's BabyAIBot and GLAM's bot on
// every recorded bot episode, advising mode (the agent deviates, the bot replans), determinism, bad
// input. The behaviour-cloning demonstrations built from it are the agent's: test/agent/demos.test.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { Action, envFromState, listLevels, makeEnv, Rng, type EnvState } from '../../lib/env/index.js';
import { Bot } from '../../lib/env/bot/index.js';

const EPISODES = 1000;
const rows: string[] = [];

/** Plays one episode with the bot; returns [success, steps, actions]. */
function play(env: ReturnType<typeof makeEnv>, seed: number): [boolean, number, number[]] {
  env.reset({ seed });
  const bot = new Bot(env);
  const actions: number[] = [];
  for (;;) {
    const a = bot.replan();
    actions.push(a);
    const r = env.act(a);
    if (r.terminated || r.truncated) return [r.reward > 0, actions.length, actions];
  }
}

describe('bot success over 1,000 seeded episodes per level', () => {
  for (const id of listLevels()) {
    it(id, () => {
      const env = makeEnv(id, { text: false });
      let ok = 0;
      let steps = 0;
      const failed: number[] = [];
      const t0 = performance.now();
      for (let seed = 0; seed < EPISODES; seed++) {
        const [success, n] = play(env, seed);
        steps += n;
        if (success) ok++;
        else failed.push(seed);
      }
      const rate = ok / EPISODES;
      rows.push(`${id.padEnd(32)} ${(100 * rate).toFixed(1).padStart(6)}%  ${(steps / EPISODES).toFixed(1).padStart(6)}  ${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s`);
      expect(rate, `${id}: failed seeds ${failed.slice(0, 10).join(', ')}`).toBeGreaterThanOrEqual(0.99);
    });
  }
  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`bot success, ${EPISODES} episodes per level (seeds 0..${EPISODES - 1})\n` +
      `${'level'.padEnd(32)} ${'success'.padStart(7)}  ${'steps'.padStart(6)}  ${'time'.padStart(7)}\n${rows.join('\n')}`);
  });
});

interface Recorded extends EnvState {
  seed: number;
  policy: string;
  actions: number[];
}

function recordedBotEpisodes(rel: string): Recorded[] {
  const path = fileURLToPath(new URL(rel, import.meta.url));
  return gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Recorded).filter((e) => e.policy === 'bot');
}

describe('bot parity with recorded bots', () => {
  const sets = [
    { name: "MiniGrid's BabyAIBot", rel: '../fixtures/minigrid/episodes.jsonl.gz', count: 200 },
    { name: "GLAM's bot (babyai-text)", rel: '../fixtures/babyai-text/glam-episodes.jsonl.gz', count: 118 },
  ];
  for (const set of sets) {
    it(`chooses the same action at every step as ${set.name}`, () => {
      const episodes = recordedBotEpisodes(set.rel);
      expect(episodes.length).toBe(set.count);
      let steps = 0;
      for (const ep of episodes) {
        const env = envFromState(ep, { text: false });
        const bot = new Bot(env);
        for (let t = 0; t < ep.actions.length; t++) {
          expect(bot.replan(), `${ep.level} seed ${ep.seed} step ${t} (${ep.mission})`).toBe(ep.actions[t]);
          env.act(ep.actions[t]!);
          steps++;
        }
      }
      expect(steps).toBeGreaterThan(1000);
    });
  }
});

describe('bot behaviour', () => {
  it('is deterministic: same seed, same actions', () => {
    const a = play(makeEnv('BabyAI-MixedTrainLocal-v0', { text: false }), 42)[2];
    const b = play(makeEnv('BabyAI-MixedTrainLocal-v0', { seed: 9, text: false }), 42)[2];
    expect(a).toEqual(b);
  });

  it('advises an agent that deviates 20% of the time (actions passed to replan) and still succeeds', () => {
    const rng = new Rng(3);
    for (const id of ['BabyAI-MixedTrainLocal-v0', 'BabyAI-PutNextLocal-v0', 'BabyAI-UnlockLocal-v0']) {
      const env = makeEnv(id, { text: false });
      let ok = 0;
      for (let seed = 0; seed < 100; seed++) {
        env.reset({ seed });
        const bot = new Bot(env);
        let taken: number | undefined;
        for (;;) {
          let a = bot.replan(taken);
          taken = undefined;
          if (rng.nextFloat() < 0.2) {
            // Any action but opening a box (which may make the mission unsolvable).
            const [fx, fy] = env.frontPos;
            do a = rng.randInt(0, 6); while (a === Action.toggle && env.grid.get(fx, fy)?.type === 'box');
            taken = a;
          }
          const r = env.act(a);
          if (r.terminated || r.truncated) {
            if (r.reward > 0) ok++;
            break;
          }
        }
      }
      expect(ok, id).toBeGreaterThanOrEqual(95);
    }
  });

  it('explores a multi-room maze, opening doors, and fetches keys for locked doors', () => {
    const env = makeEnv('BabyAI-UnlockLocal-v0', { text: false });
    const [success, , actions] = play(env, 5);
    expect(success).toBe(true);
    expect(actions).toContain(Action.pickup);
    expect(actions.at(-1)).toBe(Action.toggle);
  });

  it('rejects an env without an episode, a stale episode, bad actions and opened boxes', () => {
    const env = makeEnv('BabyAI-GoToLocal-v0');
    expect(() => new Bot(env)).toThrow(/call env.reset\(\)/);
    expect(() => new Bot({} as never)).toThrow(GlamError);
    env.reset({ seed: 1 });
    const bot = new Bot(env);
    expect(() => bot.replan(7)).toThrow(/action id 0..6/);
    env.reset({ seed: 2 });
    expect(() => bot.replan()).toThrow(/new Bot\(env\) per episode/);

    // Walk up to a box (a GoTo box episode ends facing it), then toggle it: the box vanishes.
    const e2 = makeEnv('BabyAI-GoToLocal-v0', { text: false });
    let seed = 0;
    while (!/box/.test(e2.reset({ seed }).mission)) seed++;
    const b = new Bot(e2);
    let r;
    do r = e2.act(b.replan()); while (!r.terminated && !r.truncated);
    expect(r.reward).toBeGreaterThan(0);
    const b2 = new Bot(e2);
    b2.replan();
    e2.act(Action.toggle);
    expect(() => b2.replan(Action.toggle)).toThrow(/box was opened/);
  });
});
