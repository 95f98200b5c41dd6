// One test per rule of GLAM's text observation (describe.ts), per preset (style.ts) and per French choice (french.ts).

import { describe, expect, it } from 'vitest';
import { describeView } from '../../lib/env/text/describe.js';
import { glamFrenchGoal, translateMission } from '../../lib/env/text/french.js';
import { applySubstitutions, getStyle, makeStyle, rewriteMission, STYLES, type TextStyle } from '../../lib/env/text/style.js';
import { expectInvalid } from '../glam-error.js';

type Cell = readonly [number, number, number];
const WALL: Cell = [2, 5, 0];
const UNSEEN: Cell = [0, 0, 0];
const key = (c: number): Cell => [5, c, 0];
const ball = (c: number): Cell => [6, c, 0];
const box = (c: number): Cell => [7, c, 0];
const door = (c: number, s: number): Cell => [4, c, s];

/** A 7×7 view of empty cells with the given cells set, keyed "i,j" (i column, j row, agent at 3,6). */
function view(cells: Record<string, Cell> = {}): Uint8Array {
  const v = new Uint8Array(147);
  for (let c = 0; c < 49; c++) v[c * 3] = 1;
  for (const [pos, cell] of Object.entries(cells)) {
    const [i, j] = pos.split(',').map(Number) as [number, number];
    v.set(cell, (i * 7 + j) * 3);
  }
  return v;
}
const say = (cells: Record<string, Cell>, carrying: Cell | null = null, style?: TextStyle) =>
  describeView(view(cells), carrying, style);


describe('walls on the three rays', () => {
  it('forward, left and right, with distances from the agent', () => {
    expect(say({ '3,2': WALL })).toEqual(['You see a wall 4 steps forward']);
    expect(say({ '3,5': WALL })).toEqual(['You see a wall 1 step forward']);
    expect(say({ '1,6': WALL })).toEqual(['You see a wall 2 steps left']);
    expect(say({ '2,6': WALL })).toEqual(['You see a wall 1 step left']);
    expect(say({ '6,6': WALL })).toEqual(['You see a wall 3 steps right']);
    expect(say({ '3,0': WALL })).toEqual(['You see a wall 6 steps forward']);
  });
  it('are listed forward, then left, then right, and only the nearest counts', () => {
    expect(say({ '5,6': WALL, '0,6': WALL, '3,3': WALL, '3,1': WALL, '6,6': WALL }))
      .toEqual(['You see a wall 3 steps forward', 'You see a wall 3 steps left', 'You see a wall 2 steps right']);
  });
  it('unseen cells do not stop the scan', () => {
    expect(say({ '3,5': UNSEEN, '3,4': UNSEEN, '3,3': WALL })).toEqual(['You see a wall 3 steps forward']);
  });
  it('an object on the ray hides the wall behind it (and is described itself)', () => {
    expect(say({ '3,4': ball(0), '3,2': WALL })).toEqual(['You see a red ball 2 steps forward']);
    expect(say({ '1,6': key(1), '0,6': WALL })).toEqual(['You see a green key 2 steps left']);
    expect(say({ '3,3': door(2, 2), '3,1': WALL })).toEqual(['You see a locked blue door 3 steps forward']);
  });
  it('walls seen diagonally (or anywhere off the rays) are never described', () => {
    const cells: Record<string, Cell> = {};
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) if (i !== 3 && j !== 6) cells[`${i},${j}`] = WALL;
    expect(say(cells)).toEqual([]);
  });
});

describe('objects', () => {
  it('are ordered by column left→right, then far→near within a column', () => {
    expect(say({ '5,1': box(4), '0,4': ball(2), '0,2': key(3), '3,0': ball(5) })).toEqual([
      'You see a purple key 3 steps left and 4 steps forward',
      'You see a blue ball 3 steps left and 2 steps forward',
      'You see a grey ball 6 steps forward',
      'You see a yellow box 2 steps right and 5 steps forward',
    ]);
  });
  it('use singular "step" for 1 only, and join x then y with "and"', () => {
    expect(say({ '2,5': key(0) })).toEqual(['You see a red key 1 step left and 1 step forward']);
    expect(say({ '4,4': key(0) })).toEqual(['You see a red key 1 step right and 2 steps forward']);
    expect(say({ '1,6': ball(0) })).toEqual(['You see a red ball 2 steps left']);
    expect(say({ '4,6': ball(0) })).toEqual(['You see a red ball 1 step right']);
    expect(say({ '3,5': box(1) })).toEqual(['You see a green box 1 step forward']);
  });
  it('doors say their state before the colour, "a open" included', () => {
    expect(say({ '3,5': door(0, 0) })).toEqual(['You see a open red door 1 step forward']);
    expect(say({ '3,5': door(3, 1) })).toEqual(['You see a closed purple door 1 step forward']);
    expect(say({ '3,5': door(4, 2) })).toEqual(['You see a locked yellow door 1 step forward']);
  });
  it('other MiniGrid types are named from the index table; the state of a non-door is ignored', () => {
    expect(say({ '2,2': [8, 1, 0], '4,2': [9, 0, 0], '5,2': [3, 2, 0], '6,2': [6, 0, 2] })).toEqual([
      'You see a green goal 1 step left and 4 steps forward',
      'You see a red lava 1 step right and 4 steps forward',
      'You see a blue floor 2 steps right and 4 steps forward',
      'You see a red ball 3 steps right and 4 steps forward',
    ]);
  });
  it('the agent cell (where the carried object is drawn) is never described', () => {
    expect(say({ '3,6': key(4) })).toEqual([]);
  });
});

describe('carrying', () => {
  it('comes first, from the carrying argument, before walls and objects', () => {
    expect(say({ '3,6': key(4), '3,3': WALL, '0,0': ball(1) }, key(4))).toEqual([
      'You carry a yellow key', 'You see a wall 3 steps forward', 'You see a green ball 3 steps left and 6 steps forward',
    ]);
    expect(say({}, box(5))).toEqual(['You carry a grey box']);
  });
});

describe('presets substitute GLAM\'s words', () => {
  const scene = { '2,5': key(0), '4,4': ball(1), '3,3': box(2), '5,6': door(3, 2), '6,6': door(5, 0) };
  const cases: [string, string[]][] = [
    ['oov-nouns', ['You carry a yellow table', 'You see a red chair 1 step left and 1 step forward', 'You see a blue car 3 steps forward',
      'You see a green table 1 step right and 2 steps forward', 'You see a locked purple door 2 steps right', 'You see a open grey door 3 steps right']],
    ['synonym-adjectives', ['You carry a golden ball', 'You see a vermilion key 1 step left and 1 step forward', 'You see a cyan box 3 steps forward',
      'You see a jade ball 1 step right and 2 steps forward', 'You see a locked violet door 2 steps right', 'You see a open silver door 3 steps right']],
    ['invented-nouns', ['You carry a yellow xolo', 'You see a red dax 1 step left and 1 step forward', 'You see a blue afze 3 steps forward',
      'You see a green xolo 1 step right and 2 steps forward', 'You see a locked purple door 2 steps right', 'You see a open grey door 3 steps right']],
    ['invented-adjectives', ['You carry a gakul ball', 'You see a faze key 1 step left and 1 step forward', 'You see a croh box 3 steps forward',
      'You see a jatu ball 1 step right and 2 steps forward', 'You see a locked vurst door 2 steps right', 'You see a open sil door 3 steps right']],
    ['invented-both', ['You carry a gakul xolo', 'You see a faze dax 1 step left and 1 step forward', 'You see a croh afze 3 steps forward',
      'You see a jatu xolo 1 step right and 2 steps forward', 'You see a locked vurst door 2 steps right', 'You see a open sil door 3 steps right']],
  ];
  for (const [name, want] of cases) {
    it(name, () => expect(say(scene, ball(4), getStyle(name))).toEqual(want));
  }
  it('rewriteMission applies the same words to the goal', () => {
    expect(rewriteMission('put the red box next to the grey ball')).toBe('put the red box next to the grey ball');
    expect(rewriteMission('pick up the red key', STYLES['oov-nouns'])).toBe('pick up the red chair');
    expect(rewriteMission('put the red box next to the grey ball', STYLES['synonym-adjectives']))
      .toBe('put the vermilion box next to the silver ball');
    expect(rewriteMission('go to a purple box after you pick up the yellow key', STYLES['invented-both']))
      .toBe('go to a vurst afze after you pick up the gakul dax');
    expect(rewriteMission('go to the red ball', STYLES.french)).toBe('aller à la balle rouge');
    expect(rewriteMission('pick up the red key', STYLES['french-oov-nouns'])).toBe('attraper la chaise rouge');
    expect(rewriteMission('go to the grey box', STYLES['french-invented-both'])).toBe('aller à la afze sil');
  });
  it('applySubstitutions is Python str.replace in dict order, with no $-patterns', () => {
    expect(applySubstitutions('green box red box', [['box', 'tree']])).toBe('green tree red tree');
    expect(applySubstitutions('a b', [['a', 'b'], ['b', 'c']])).toBe('c c');
    expect(applySubstitutions('key', [['key', '$&$&']])).toBe('$&$&');
  });
  it('makeStyle builds custom styles; bad styles and names throw GlamError', () => {
    const s = makeStyle({ name: 'mine', language: 'english', substitutions: [['ball', 'sphere']] });
    expect(say({ '3,5': ball(0) }, null, s)).toEqual(['You see a red sphere 1 step forward']);
    expectInvalid(() => getStyle('klingon'), /default, oov-nouns, .*french-invented-both.*makeStyle/);
    expectInvalid(() => makeStyle({ name: 'x', language: 'german' as 'french' }), /'english' or 'french'/);
    expectInvalid(() => makeStyle({ name: 'x', language: 'english', substitutions: [['', 'y']] }), /non-empty from/);
    expectInvalid(() => describeView(view(), null, 'french' as unknown as TextStyle), /getStyle/);
    expectInvalid(() => describeView(view(), null, { ...STYLES.default, colors: ['red'] }), /6 strings for style.colors/);
  });
});

describe('French', () => {
  const fr = STYLES.french;
  it('walls say "à N pas", objects "N pas", joined by "et", colours feminine', () => {
    expect(say({ '3,2': WALL, '0,6': WALL, '4,6': WALL }, null, fr))
      .toEqual(['Tu vois un mur à 4 pas devant', 'Tu vois un mur à 3 pas à gauche', 'Tu vois un mur à 1 pas à droite']);
    expect(say({ '3,4': ball(0), '2,5': key(1), '5,6': box(2), '0,0': ball(3), '1,1': key(4), '6,0': box(5) }, null, fr)).toEqual([
      'Tu vois une balle violette 3 pas à gauche et 6 pas devant', 'Tu vois une clef jaune 2 pas à gauche et 5 pas devant',
      'Tu vois une clef verte 1 pas à gauche et 1 pas devant', 'Tu vois une balle rouge 2 pas devant',
      'Tu vois une boîte bleue 2 pas à droite', 'Tu vois une boîte grise 3 pas à droite et 6 pas devant',
    ]);
  });
  it('doors: "porte <couleur> <état>"', () => {
    expect(say({ '3,5': door(2, 2), '2,5': door(0, 0), '4,5': door(5, 1) }, null, fr)).toEqual([
      'Tu vois une porte rouge ouverte 1 pas à gauche et 1 pas devant', 'Tu vois une porte bleue fermée à clef 1 pas devant',
      'Tu vois une porte grise fermée 1 pas à droite et 1 pas devant',
    ]);
  });
  it('the carried line keeps GLAM\'s English words in French order', () => {
    expect(say({}, key(5), fr)).toEqual(['Tu portes une key grey']);
    expect(say({}, ball(0), fr)).toEqual(['Tu portes une ball red']);
  });
  it('French presets reproduce GLAM\'s French dicts, quirks included', () => {
    expect(say({ '3,5': door(0, 2) }, key(0), STYLES['french-oov-nouns']))
      .toEqual(['Tu portes une key red', 'Tu vois une porte rouge fermée à chaise 1 pas devant']);
    expect(say({ '3,5': ball(5) }, null, STYLES['french-synonym-adjectives'])).toEqual(['Tu vois une balle argente 1 pas devant']);
    expect(say({ '3,5': box(3) }, null, STYLES['french-invented-both'])).toEqual(['Tu vois une afze vurst 1 pas devant']);
  });
});

describe('French missions', () => {
  const cases: [string, string][] = [
    ['go to the red ball', 'aller à la balle rouge'],
    ['go to a purple key', 'aller à une clef violette'],
    ['open the door', 'ouvrir la porte'],
    ['open the blue door', 'ouvrir la porte bleue'],
    ['pick up the box in front of you', 'attraper la boîte devant toi'],
    ['pick up the yellow ball behind you', 'attraper la balle jaune derrière toi'],
    ['pick up a box on your right', 'attraper une boîte à ta droite'],
    ['go to the grey key on your left', 'aller à la clef grise à ta gauche'],
    ['put the yellow key next to the grey ball', 'mettre la clef jaune à côté de la balle grise'],
    ['put a yellow key next to a grey ball', 'mettre une clef jaune à côté d\'une balle grise'],
    ['put the red ball next to the green object', 'mettre la balle rouge à côté de l\'objet vert'],
    ['put the red ball next to a object', 'mettre la balle rouge à côté d\'un objet'],
    ['go to the grey object', 'aller à l\'objet gris'],
    ['pick up a grey box, then go to the green box', 'attraper une boîte grise, puis aller à la boîte verte'],
    ['go to a grey box after you pick up the yellow ball', 'aller à une boîte grise après avoir attrapé la balle jaune'],
    ['open the red door after you go to the ball', 'ouvrir la porte rouge après être allé à la balle'],
    ['go to the key after you put the red box next to the blue ball',
      'aller à la clef après avoir mis la boîte rouge à côté de la balle bleue'],
    ['go to the key after you open a door', 'aller à la clef après avoir ouvert une porte'],
    ['go to the red ball and pick up a blue key, then open the door',
      'aller à la balle rouge et attraper une clef bleue, puis ouvrir la porte'],
  ];
  for (const [en, fr] of cases) it(`${en} → ${fr}`, () => expect(translateMission(en)).toBe(fr));

  it('rejects what is not a BabyAI mission', () => {
    expectInvalid(() => translateMission('dance with the ball'), /go to \/ pick up/);
    expectInvalid(() => translateMission('go to the pink ball'), /unknown colour "pink"/);
    expectInvalid(() => translateMission('go to the red chair'), /unknown object "chair"/);
    expectInvalid(() => translateMission('put the red ball'), /lacks "next to"/);
    expectInvalid(() => translateMission(''), /non-empty mission/);
  });

  it('glamFrenchGoal reproduces GLAM\'s hard-coded Go-To, substring bugs included', () => {
    expect(glamFrenchGoal('go to the red ball')).toBe('aller à une balle rouge'); // 'a' occurs in "ball"
    expect(glamFrenchGoal('pick up the key')).toBe('aller à la clef ');
    expect(glamFrenchGoal('put the grey key next to the yellow box')).toBe('aller à la clef grise');
    expect(glamFrenchGoal('put the grey key next to the yellow ball')).toBe('aller à une clef grise');
  });
});

describe('bad views', () => {
  it('throw GlamError InvalidArgument saying what to pass', () => {
    expectInvalid(() => describeView(new Uint8Array(146), null), /147 bytes .* received length 146/);
    expectInvalid(() => describeView(null as unknown as Uint8Array, null), /147 bytes/);
    expectInvalid(() => describeView(view({ '1,1': [11, 0, 0] }), null), /\(11, 0, 0\) at view cell \[1\]\[1\]/);
    expectInvalid(() => describeView(view({ '1,1': [6, 6, 0] }), null), /color < 6/);
    expectInvalid(() => describeView(view({ '1,1': [4, 0, 3] }), null), /door state < 3/);
    expectInvalid(() => describeView(view(), [5, 9, 0]), /for carrying but received \(5, 9, 0\)/);
  });
});
