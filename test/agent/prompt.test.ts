// GLAM's prompt template, byte for byte (expected strings produced by GLAM's generate_prompt with its deques),
// for 0, 1, 2 and 3+ steps of history, configurable memory, templates and GLAM's prompt_modifier equivalence.

import { describe, expect, it } from 'vitest';
import { buildPrompt, getPromptTemplate, PROMPT_TEMPLATES, PromptHistory } from '../../lib/agent/prompt.js';
import { FRENCH_ACTIONS, GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { describeView } from '../../lib/env/text/describe.js';
import { applySubstitutions, rewriteMission, STYLE_NAMES, STYLES } from '../../lib/env/text/style.js';
import { loadEpisodes } from '../env/text-fixture.js';
import { expectInvalid } from '../glam-error.js';

const HEAD = 'Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n Goal of the agent: go to the red box';
const O0 = ['You see a wall 2 steps forward', 'You see a red box 1 step left'];
const O1 = ['You see a wall 1 step forward'];
const O2 = ['You see a red box 1 step forward'];
const O3 = ['You carry a red box'];
const O4: string[] = [];
const OBS = [O1, O2, O3, O4];
const ACTS = ['turn left', 'go forward', 'pick up', 'turn right'];

/** Plays `steps` steps of the scripted episode into a history. */
function played(steps: number, history = new PromptHistory()): PromptHistory {
  history.reset(O0);
  for (let t = 0; t < steps; t++) {
    history.pushAction(ACTS[t]!);
    history.pushObservation(OBS[t]!);
  }
  return history;
}
const prompt = (h: PromptHistory) => buildPrompt('go to the red box', GLAM_ACTIONS, h);


describe('GLAM prompt template (3 observations, 2 actions)', () => {
  it('0 steps: the reset observation only; ends with "\\n Action 0: "', () => {
    expect(prompt(played(0))).toBe(`${HEAD} \n Observation 0: You see a wall 2 steps forward, You see a red box 1 step left, \n Action 0: `);
  });
  it('1 step', () => {
    expect(prompt(played(1))).toBe(`${HEAD} \n Observation 0: You see a wall 2 steps forward, You see a red box 1 step left, \n Action 0: turn left` +
      ' \n Observation 1: You see a wall 1 step forward, \n Action 1: ');
  });
  it('2 steps', () => {
    expect(prompt(played(2))).toBe(`${HEAD} \n Observation 0: You see a wall 2 steps forward, You see a red box 1 step left, \n Action 0: turn left` +
      ' \n Observation 1: You see a wall 1 step forward, \n Action 1: go forward \n Observation 2: You see a red box 1 step forward, \n Action 2: ');
  });
  it('3 steps: the oldest observation and action are forgotten and numbering restarts at 0', () => {
    expect(prompt(played(3))).toBe(`${HEAD} \n Observation 0: You see a wall 1 step forward, \n Action 0: go forward` +
      ' \n Observation 1: You see a red box 1 step forward, \n Action 1: pick up \n Observation 2: You carry a red box, \n Action 2: ');
  });
  it('4 steps, with an empty description list', () => {
    expect(prompt(played(4))).toBe(`${HEAD} \n Observation 0: You see a red box 1 step forward, \n Action 0: pick up` +
      ' \n Observation 1: You carry a red box, \n Action 1: turn right \n Observation 2: \n Action 2: ');
  });
  it('reset (episode end) clears both memories', () => {
    const h = played(4);
    h.reset(O1);
    expect(h.actions).toEqual([]);
    expect(prompt(h)).toBe(`${HEAD} \n Observation 0: You see a wall 1 step forward, \n Action 0: `);
  });
  it('matches the reference example with 2 past steps', () => {
    const p = buildPrompt('go to the red box', GLAM_ACTIONS,
      { observations: [['You see a wall 2 steps forward', 'You see a red box 1 step left'], ['...'], ['...']], actions: ['turn left', 'go forward'] });
    expect(p).toBe('Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n Goal of the agent: go to the red box' +
      ' \n Observation 0: You see a wall 2 steps forward, You see a red box 1 step left, \n Action 0: turn left \n Observation 1: ...,' +
      ' \n Action 1: go forward \n Observation 2: ..., \n Action 2: ');
  });
});

describe('configurable memory', () => {
  it('maxObservations 1: only the current observation, no past action', () => {
    const h = played(4, new PromptHistory({ maxObservations: 1 }));
    expect(h.maxActions).toBe(0);
    expect(prompt(h)).toBe(`${HEAD} \n Observation 0: \n Action 0: `);
  });
  it('maxObservations 6 keeps the whole scripted episode', () => {
    expect(prompt(played(4, new PromptHistory({ maxObservations: 6 })))).toBe(
      `${HEAD} \n Observation 0: You see a wall 2 steps forward, You see a red box 1 step left, \n Action 0: turn left` +
      ' \n Observation 1: You see a wall 1 step forward, \n Action 1: go forward \n Observation 2: You see a red box 1 step forward,' +
      ' \n Action 2: pick up \n Observation 3: You carry a red box, \n Action 3: turn right \n Observation 4: \n Action 4: ');
  });
  it('a shorter action memory keeps GLAM\'s positional pairing', () => {
    expect(prompt(played(4, new PromptHistory({ maxObservations: 3, maxActions: 1 })))).toBe(
      `${HEAD} \n Observation 0: You see a red box 1 step forward, \n Action 0: turn right \n Observation 1: You carry a red box,` +
      ' \n Action 1:  \n Observation 2: \n Action 2: ');
  });
  it('rejects impossible limits and misuse', () => {
    expectInvalid(() => new PromptHistory({ maxObservations: 0 }), /positive integer for maxObservations/);
    expectInvalid(() => new PromptHistory({ maxObservations: 2.5 }), /positive integer/);
    expectInvalid(() => new PromptHistory({ maxObservations: 3, maxActions: 3 }), /\[0, 2\]/);
    expectInvalid(() => buildPrompt('g', [], played(0)), /non-empty array of action names/);
    expectInvalid(() => buildPrompt('g', GLAM_ACTIONS, new PromptHistory()), /push the reset observation first/);
    expectInvalid(() => buildPrompt('g', GLAM_ACTIONS, { observations: [O0], actions: ['a', 'b'] }), /at most 1 actions/);
    expectInvalid(() => getPromptTemplate('pirate'), /english, english-intro-speaker/);
  });
});

describe('templates and generalization variants', () => {
  it('intro rewrites replace "Goal of the agent" exactly as GLAM\'s dict does', () => {
    const h = played(1);
    const base = prompt(h);
    expect(buildPrompt('go to the red box', GLAM_ACTIONS, h, PROMPT_TEMPLATES['english-intro-speaker']))
      .toBe(applySubstitutions(base, [['Goal of the agent', 'I would like the agent to']]));
    expect(buildPrompt('go to the red box', GLAM_ACTIONS, h, getPromptTemplate('english-intro-agent')))
      .toBe(applySubstitutions(base, [['Goal of the agent', 'You have to']]));
  });
  it('French header, actions, goal and observations', () => {
    const h = new PromptHistory();
    h.reset(['Tu vois une balle rouge 2 pas devant']);
    expect(buildPrompt(rewriteMission('go to the red ball', STYLES.french), FRENCH_ACTIONS, h, PROMPT_TEMPLATES.french)).toBe(
      "Actions possibles pour l'agent: tourner à gauche, tourner à droite, aller tout droit, attraper, lâcher, basculer" +
      " \n But de l'agent: aller à la balle rouge \n Observation 0: Tu vois une balle rouge 2 pas devant, \n Action 0: ");
    expect(buildPrompt('x', FRENCH_ACTIONS, h, PROMPT_TEMPLATES['french-intro-agent'])).toContain(' \n Tu dois faire: x \n');
    expect(buildPrompt('x', FRENCH_ACTIONS, h, PROMPT_TEMPLATES['french-intro-speaker'])).toContain(" \n Je veux que l'agent fasse: x \n");
  });
  it('building from styled pieces = GLAM prompt_modifier over the whole prompt (recorded episodes, every preset)', () => {
    const episodes = loadEpisodes();
    for (const name of STYLE_NAMES) {
      const style = STYLES[name];
      const fr = style.language === 'french';
      const base = fr ? STYLES.french : STYLES.default;
      const actions = fr ? FRENCH_ACTIONS : GLAM_ACTIONS;
      const template = fr ? PROMPT_TEMPLATES.french : PROMPT_TEMPLATES.english;
      for (const e of episodes.filter((x) => x.language === style.language).slice(0, 20)) {
        const plain = new PromptHistory();
        const styled = new PromptHistory();
        for (let t = 0; t < e.steps.length; t++) {
          const s = e.steps[t]!;
          if (t === 0) {
            plain.reset(describeView(s.view, s.carrying, base));
            styled.reset(describeView(s.view, s.carrying, style));
          } else {
            const a = actions[e.actions[t - 1]!]!;
            plain.pushAction(a); styled.pushAction(a);
            plain.pushObservation(describeView(s.view, s.carrying, base));
            styled.pushObservation(describeView(s.view, s.carrying, style));
          }
          const want = applySubstitutions(buildPrompt(rewriteMission(e.mission, base), actions, plain, template), style.substitutions);
          expect(buildPrompt(rewriteMission(e.mission, style), actions, styled, template)).toBe(want);
        }
      }
    }
  });
});
