// GLAM's action lists and their MiniGrid ids.

import { describe, expect, it } from 'vitest';
import { GlamError } from '../../lib/errors.js';
import {
  ACTION_VOCABULARIES, actionIdFromIndex, actionIdOf, AUGMENTED_ACTIONS, DONE_ACTION_ID, FRENCH_ACTIONS, getActionVocabulary,
  GLAM_ACTIONS, SYNONYM_ACTIONS, translateActionsToFrench,
} from '../../lib/agent/actions.js';

describe('action vocabularies', () => {
  it('canonical, synonym and French lists as GLAM spells them', () => {
    expect(GLAM_ACTIONS).toEqual(['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle']);
    expect(SYNONYM_ACTIONS).toEqual(['rotate left', 'rotate right', 'move ahead', 'take', 'release', 'switch']);
    expect(FRENCH_ACTIONS).toEqual(['tourner à gauche', 'tourner à droite', 'aller tout droit', 'attraper', 'lâcher', 'basculer']);
    expect(translateActionsToFrench(GLAM_ACTIONS)).toEqual(FRENCH_ACTIONS);
    expect(translateActionsToFrench(AUGMENTED_ACTIONS).slice(6)).toEqual(['dormir', 'ne rien faire', 'penser']);
    expect(getActionVocabulary('synonyms')).toBe(SYNONYM_ACTIONS);
    for (const list of Object.values(ACTION_VOCABULARIES)) expect(Object.isFrozen(list)).toBe(true);
  });
  it('index = MiniGrid id; past 6 everything is done (6)', () => {
    expect(GLAM_ACTIONS.map((a) => actionIdOf(a))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(actionIdOf('move ahead', SYNONYM_ACTIONS)).toBe(2);
    expect(AUGMENTED_ACTIONS.map((a) => actionIdOf(a, AUGMENTED_ACTIONS))).toEqual([0, 1, 2, 3, 4, 5, 6, 6, 6]);
    expect(actionIdFromIndex(42)).toBe(DONE_ACTION_ID);
  });
  it('bad names and indices throw GlamError', () => {
    expect(() => actionIdOf('fly')).toThrow(GlamError);
    expect(() => actionIdOf('fly')).toThrow(/"turn left", "turn right"/);
    expect(() => actionIdFromIndex(-1)).toThrow(/non-negative integer/);
    expect(() => actionIdFromIndex(1.5)).toThrow(GlamError);
    expect(() => getActionVocabulary('klingon')).toThrow(/canonical, synonyms/);
  });
});
