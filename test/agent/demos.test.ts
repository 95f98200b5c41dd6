// Behaviour-cloning demonstrations (lib/agent/demos.ts): the bot's decisions as GLAM's prompts (rebuilt
// by hand from the env, the bot and the prompt builder), only solved episodes, JSON lines, bad options.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { collectDemos, writeDemosJsonl, type Demo } from '../../lib/agent/demos.js';
import { buildPrompt, PromptHistory } from '../../lib/agent/prompt.js';
import { Bot } from '../../lib/env/bot/index.js';
import { makeEnv } from '../../lib/env/index.js';

describe('behaviour-cloning demos', () => {
  it("yields GLAM's prompt (3 observations, 2 actions) and the bot's action name at every step", () => {
    const demos = [...collectDemos('BabyAI-GoToLocal-v0', { episodes: 5, seed: 10 })];
    expect(demos.length).toBeGreaterThan(5);
    // Rebuild episode 0's prompts by hand.
    const env = makeEnv('BabyAI-GoToLocal-v0');
    const obs = env.reset({ seed: 10 });
    const bot = new Bot(env);
    const h = new PromptHistory({ maxObservations: 3, maxActions: 2 });
    h.reset(obs.descriptions);
    const ep0 = demos.filter((d) => d.episode === 0);
    for (const [t, d] of ep0.entries()) {
      const a = bot.replan();
      expect(d.step).toBe(t);
      expect(d.seed).toBe(10);
      expect(d.actionId).toBe(a);
      expect(d.action).toBe(GLAM_ACTIONS[a]);
      expect(d.prompt).toBe(buildPrompt(obs.mission, GLAM_ACTIONS, h));
      h.pushAction(d.action);
      const r = env.step(a);
      if (!r.done) h.pushObservation(r.obs.descriptions);
    }
    expect(ep0.at(-1)!.prompt).toMatch(/^Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n Goal of the agent: go to /);
    expect(ep0.at(-1)!.prompt).toMatch(/\n Action 2: $/);
  });

  it('keeps only solved episodes, reports a summary, and writes JSON lines', () => {
    const gen = collectDemos('BabyAI-MixedTrainLocal-v0', { episodes: 20, seed: 0 });
    const demos: Demo[] = [];
    let r = gen.next();
    while (!r.done) {
      demos.push(r.value);
      r = gen.next();
    }
    expect(r.value).toEqual({ episodes: 20, successes: 20, demos: demos.length });
    const dir = mkdtempSync(join(tmpdir(), 'glam-demos-'));
    try {
      const file = join(dir, 'demos.jsonl');
      expect(writeDemosJsonl(file, demos)).toBe(demos.length);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBe(demos.length);
      expect(lines[0]).toEqual({ prompt: demos[0]!.prompt, action: demos[0]!.action, action_id: demos[0]!.actionId, episode: 0, seed: 0, step: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options', () => {
    expect(() => collectDemos('BabyAI-GoToLocal-v0', { episodes: 0 }).next()).toThrow(/integer >= 1 for episodes/);
    expect(() => collectDemos('BabyAI-Nope-v0', { episodes: 1 }).next()).toThrow(/Unknown level/);
  });
});
