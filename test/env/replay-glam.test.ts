// Replays every episode recorded from GLAM's BabyAI-Text (test/fixtures/babyai-text) from its start
// state with its actions and requires identical view, descriptions, agent pose, carried object,
// reward (±1e-6) and done at every step. French episodes use the French text style.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envFromState, type EnvState } from '../../lib/env/index.js';

interface RecordedStep {
  view: number[][][];
  descriptions: string[];
  agent: { pos: [number, number]; dir: number };
  carrying: [number, number, number] | null;
  reward: number;
  done: boolean;
}
interface Episode extends EnvState {
  seed: number;
  policy: string;
  actions: number[];
  steps: RecordedStep[];
}

const path = fileURLToPath(new URL('../fixtures/babyai-text/glam-episodes.jsonl.gz', import.meta.url));
const episodes: Episode[] = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Episode);

function flatView(v: number[][][]): number[] {
  const out: number[] = [];
  for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) out.push(...v[i]![j]!);
  return out;
}

describe('GLAM BabyAI-Text replay', () => {
  it('has the recorded episodes', () => {
    expect(episodes.length).toBe(236);
  });

  let steps = 0;
  for (const [k, ep] of episodes.entries()) {
    it(`episode ${k}: ${ep.level} ${ep.language} seed ${ep.seed} ${ep.policy} (${ep.actions.length} actions)`, () => {
      const env = envFromState(ep);
      const where = (t: number) => `${ep.level} seed ${ep.seed} step ${t}`;
      for (let t = 0; t < ep.steps.length; t++) {
        const rec = ep.steps[t]!;
        let obs;
        let reward = 0;
        let done = false;
        if (t === 0) {
          obs = env.reset();
        } else {
          const r = env.step(ep.actions[t - 1]!);
          obs = r.obs;
          reward = r.reward;
          done = r.done;
        }
        expect(Array.from(obs.image), where(t)).toEqual(flatView(rec.view));
        expect(obs.descriptions, where(t)).toEqual(rec.descriptions);
        expect([...env.agentPos], where(t)).toEqual(rec.agent.pos);
        expect(env.agentDir, where(t)).toBe(rec.agent.dir);
        expect(obs.direction, where(t)).toBe(rec.agent.dir);
        expect(env.carrying === null ? null : env.carrying.encode(), where(t)).toEqual(rec.carrying);
        expect(Math.abs(reward - rec.reward), `${where(t)} reward ${reward} vs ${rec.reward}`).toBeLessThanOrEqual(1e-6);
        expect(done, where(t)).toBe(rec.done);
        steps++;
      }
      expect(steps).toBeGreaterThan(0);
    });
  }

  it('matched every recorded step', () => {
    const total = episodes.reduce((n, e) => n + e.steps.length, 0);
    // eslint-disable-next-line no-console
    console.log(`GLAM replay: ${episodes.length} episodes, ${steps}/${total} steps matched`);
    expect(steps).toBe(total);
  });
});
