// Replays every episode recorded from Farama MiniGrid's own BabyAI levels
// (scripts/fixtures/record_minigrid.py → test/fixtures/minigrid/episodes.jsonl.gz) from its start
// state and requires, at every step, the identical full-grid encoding, 7×7 view, agent pose,
// carried object, reward (±1e-6), terminated and truncated. Modern MiniGrid reports terminated and
// truncated separately (GLAM's fork only `done`); the rules are the same.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envFromState, type EnvState } from '../../lib/env/index.js';

interface RecordedStep {
  diff: [number, number, number, number, number][];
  view: number[];
  agent: { pos: [number, number]; dir: number };
  carrying: [number, number, number] | null;
  reward: number;
  terminated: boolean;
  truncated: boolean;
}
interface Episode extends EnvState {
  seed: number;
  policy: string;
  actions: number[];
  steps: RecordedStep[];
}

const path = fileURLToPath(new URL('../fixtures/minigrid/episodes.jsonl.gz', import.meta.url));
const episodes: Episode[] = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Episode);

describe('MiniGrid BabyAI replay', () => {
  it('has at least 200 recorded episodes', () => {
    expect(episodes.length).toBeGreaterThanOrEqual(200);
  });

  let steps = 0;
  for (const [k, ep] of episodes.entries()) {
    it(`episode ${k}: ${ep.level} seed ${ep.seed} ${ep.policy} (${ep.actions.length} actions)`, () => {
      const env = envFromState(ep, { text: false });
      // The expected full grid, kept up to date from the recorded per-step diffs, as (W, H, 3).
      const W = ep.width;
      const H = ep.height;
      const grid = new Uint8Array(W * H * 3);
      for (let x = 0; x < W; x++) for (let y = 0; y < H; y++) grid.set(ep.grid[x]![y]!, (x * H + y) * 3);
      for (let t = 0; t < ep.steps.length; t++) {
        const rec = ep.steps[t]!;
        const where = `${ep.level} seed ${ep.seed} step ${t}`;
        for (const [x, y, a, b, c] of rec.diff) grid.set([a, b, c], (x * H + y) * 3);
        let image: Uint8Array;
        let reward = 0;
        let terminated = false;
        let truncated = false;
        if (t === 0) {
          image = env.reset().image;
        } else {
          const r = env.step(ep.actions[t - 1]!);
          ({ reward, terminated, truncated } = r);
          image = r.obs.image;
        }
        expect(Array.from(env.grid.encode()), where).toEqual(Array.from(grid));
        expect(Array.from(image), where).toEqual(rec.view);
        expect([...env.agentPos], where).toEqual(rec.agent.pos);
        expect(env.agentDir, where).toBe(rec.agent.dir);
        expect(env.carrying === null ? null : env.carrying.encode(), where).toEqual(rec.carrying);
        expect(Math.abs(reward - rec.reward), `${where} reward ${reward} vs ${rec.reward}`).toBeLessThanOrEqual(1e-6);
        expect(terminated, where).toBe(rec.terminated);
        expect(truncated, where).toBe(rec.truncated);
        steps++;
      }
    });
  }

  it('matched every recorded step', () => {
    const total = episodes.reduce((n, e) => n + e.steps.length, 0);
    // eslint-disable-next-line no-console
    console.log(`MiniGrid replay: ${episodes.length} episodes, ${steps}/${total} steps matched`);
    expect(steps).toBe(total);
  });
});
