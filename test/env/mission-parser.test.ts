// parseMission: every form of BabyAI's language, round trips through surface(), and errors.

import { describe, expect, it } from 'vitest';
import {
  AfterInstr, AndInstr, BeforeInstr, GoToInstr, OpenInstr, parseMission, PickupInstr, PutNextInstr,
} from '../../lib/env/index.js';
import { GlamError } from '../../lib/errors.js';

describe('parseMission', () => {
  it('parses action clauses', () => {
    const g = parseMission('go to the red ball') as GoToInstr;
    expect(g).toBeInstanceOf(GoToInstr);
    expect([g.desc.type, g.desc.color, g.desc.loc]).toEqual(['ball', 'red', null]);
    const p = parseMission('pick up a key') as PickupInstr;
    expect([p.desc.type, p.desc.color]).toEqual(['key', null]);
    const o = parseMission('open the door') as OpenInstr;
    expect([o.desc.type, o.desc.color]).toEqual(['door', null]);
    const n = parseMission('put the red ball next to the blue box') as PutNextInstr;
    expect([n.descMove.color, n.descMove.type, n.descFixed.color, n.descFixed.type]).toEqual(['red', 'ball', 'blue', 'box']);
    const obj = parseMission('go to a purple object') as GoToInstr;
    expect([obj.desc.type, obj.desc.color]).toEqual([null, 'purple']);
  });

  it('parses locations', () => {
    for (const [text, loc] of [['in front of you', 'front'], ['behind you', 'behind'], ['on your left', 'left'], ['on your right', 'right']] as const) {
      const p = parseMission(`pick up the grey box ${text}`) as PickupInstr;
      expect([p.desc.type, p.desc.color, p.desc.loc]).toEqual(['box', 'grey', loc]);
    }
  });

  it('parses sequences and conjunctions', () => {
    const b = parseMission('pick up a red key, then go to the blue box') as BeforeInstr;
    expect(b).toBeInstanceOf(BeforeInstr);
    expect(b.instrA).toBeInstanceOf(PickupInstr);
    expect(b.instrB).toBeInstanceOf(GoToInstr);
    const a = parseMission('go to the yellow ball after you pick up the blue ball') as AfterInstr;
    expect(a).toBeInstanceOf(AfterInstr);
    expect(a.instrA).toBeInstanceOf(GoToInstr);
    expect(a.instrB).toBeInstanceOf(PickupInstr);
    const and = parseMission('open the red door and go to a key') as AndInstr;
    expect(and).toBeInstanceOf(AndInstr);
    const deep = parseMission('open the door and pick up a ball, then put a key next to the box and go to the red ball') as BeforeInstr;
    expect(deep.instrA).toBeInstanceOf(AndInstr);
    expect(deep.instrB).toBeInstanceOf(AndInstr);
  });

  it('rejects what is not BabyAI language, saying what to do', () => {
    for (const bad of [
      '', 'dance', 'go to red ball', 'go to the crimson ball', 'go to the red chair', 'pick up the red door',
      'open the red ball', 'put the door next to the key', 'put the red ball near the box',
      'go to the key, then go to the box, then go to the ball', 'go to the key and go to the box and go to the ball',
    ]) {
      expect(() => parseMission(bad), bad).toThrow(GlamError);
    }
    expect(() => parseMission('go to the red chair')).toThrow(/Expected BabyAI's language/);
  });
});
