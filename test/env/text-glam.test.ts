// describeView against every step GLAM's own BabyAI-Text code recorded (English and French), and the
// generalization presets against GLAM's prompt_modifier (str.replace) applied to those recorded texts.

import { describe, expect, it } from 'vitest';
import { describeView } from '../../lib/env/text/describe.js';
import { applySubstitutions, rewriteMission, STYLE_NAMES, STYLES } from '../../lib/env/text/style.js';
import { loadEpisodes, type RecordedEpisode } from './text-fixture.js';

const episodes = loadEpisodes();

function groups(): [string, RecordedEpisode[]][] {
  const m = new Map<string, RecordedEpisode[]>();
  for (const e of episodes) {
    const k = `${e.level} (${e.language})`;
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return [...m.entries()];
}

/** First mismatching step of an episode list, or null: keeps failure output readable. */
function firstMismatch(eps: readonly RecordedEpisode[], render: (e: RecordedEpisode, s: number) => string[],
  expected: (e: RecordedEpisode, s: number) => readonly string[]): unknown {
  for (const e of eps) {
    for (let s = 0; s < e.steps.length; s++) {
      const got = render(e, s);
      const want = expected(e, s);
      if (got.length !== want.length || got.some((d, k) => d !== want[k])) return { seed: e.seed, step: s, got, want };
    }
  }
  return null;
}

describe('describeView reproduces GLAM on every recorded step', () => {
  it('covers the whole fixture: 236 episodes, 10,221 steps (English and French)', () => {
    const steps = (lang: string) => episodes.filter((e) => e.language === lang).reduce((n, e) => n + e.steps.length, 0);
    expect(episodes.length).toBe(236);
    expect(steps('english') + steps('french')).toBe(10221);
    expect(steps('french')).toBeGreaterThan(0);
    expect(episodes.filter((e) => e.language === 'french').length).toBe(20);
  });

  for (const [name, eps] of groups()) {
    it(`matches byte for byte: ${name}`, () => {
      const style = eps[0]!.language === 'french' ? STYLES.french : STYLES.default;
      const render = (e: RecordedEpisode, s: number) => describeView(e.steps[s]!.view, e.steps[s]!.carrying, style);
      expect(firstMismatch(eps, render, (e, s) => e.steps[s]!.descriptions)).toBeNull();
    });
  }

  it('default style is used when none is given', () => {
    const e = episodes.find((x) => x.language === 'english')!;
    for (const s of e.steps) expect(describeView(s.view, s.carrying)).toEqual(s.descriptions);
  });

  it('the recorded views hold exactly the object types and door states the rules cover', () => {
    const doorStates = new Set<number>();
    const types = new Set<number>();
    for (const e of episodes) for (const s of e.steps) for (let c = 0; c < 49; c++) {
      types.add(s.view[c * 3]!);
      if (s.view[c * 3] === 4) doorStates.add(s.view[c * 3 + 2]!);
    }
    expect([...types].sort()).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect([...doorStates].sort()).toEqual([0, 2]); // open and locked; "closed" is covered in text-rules
  });
});

describe('generalization presets equal GLAM prompt_modifier over the recorded text', () => {
  for (const name of STYLE_NAMES) {
    const style = STYLES[name];
    it(`${name}: rendering with the preset = str.replace of its dict over the base rendering`, () => {
      const eps = episodes.filter((e) => e.language === style.language);
      const render = (e: RecordedEpisode, s: number) => describeView(e.steps[s]!.view, e.steps[s]!.carrying, style);
      const expected = (e: RecordedEpisode, s: number) =>
        e.steps[s]!.descriptions.map((d) => applySubstitutions(d, style.substitutions));
      expect(firstMismatch(eps, render, expected)).toBeNull();
    });
  }

  it('every recorded mission is rewritten under every preset (French ones translated)', () => {
    const missions = [...new Set(episodes.map((e) => e.mission))];
    expect(missions.length).toBeGreaterThan(100);
    for (const name of STYLE_NAMES) {
      for (const m of missions) {
        const out = rewriteMission(m, STYLES[name]);
        if (STYLES[name].language === 'english') expect(out).toBe(applySubstitutions(m, STYLES[name].substitutions));
        else expect(out).not.toMatch(/\b(go to|pick up|open|put|the|a|then|after you)\b/);
      }
    }
  });
});
