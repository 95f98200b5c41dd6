// Terminal pictures of a BabyAI env for `glam env play` and `glam env replay`: the whole grid, two
// characters per cell, with the agent's 7×7 view shaded, then the mission and the text observation.
// Cells: walls ██, keys K, balls O, boxes B, doors D (closed) / L (locked) / / (open), agent > v < ^
// (with the carried object's letter beside it); colours are ANSI escapes when `color` is on, else
// plain ASCII (view cells show "· ").
// Subtle: the shaded cells are those the agent actually sees (MiniGrid's occlusion, read back from
// writeView), not the whole 7×7 square, so the picture shows what the text observation talks about.

import { AGENT_VIEW_SIZE, DIR_TO_VEC } from '../env/constants.js';
import type { RoomGridLevel } from '../env/levels/roomgrid-level.js';
import type { Door, WorldObj } from '../env/world-object.js';

const VIEW = AGENT_VIEW_SIZE;
const FG: Record<string, string> = { red: '31', green: '32', blue: '94', purple: '35', yellow: '33', grey: '90' };
const RESET = '\x1b[0m';
const SHADE = '\x1b[48;5;237m';
const ARROWS = ['>', 'v', '<', '^'];

/** (W*H) 1 where the agent sees the cell now (p = y*W + x). */
export function visibleCells(env: RoomGridLevel): Uint8Array {
  const W = env.grid.width;
  const H = env.grid.height;
  const vis = new Uint8Array(W * H);
  const view = new Uint8Array(VIEW * VIEW * 3);
  env.writeView(view, 0);
  const [ax, ay] = env.agentPos;
  const [dx, dy] = DIR_TO_VEC[env.agentDir]!;
  for (let i = 0; i < VIEW; i++) {
    for (let j = 0; j < VIEW; j++) {
      if (view[(i * VIEW + j) * 3] === 0) continue;
      const ahead = VIEW - 1 - j;
      const x = ax + dx * ahead - dy * (i - (VIEW >> 1));
      const y = ay + dy * ahead + dx * (i - (VIEW >> 1));
      if (x >= 0 && y >= 0 && x < W && y < H) vis[y * W + x] = 1;
    }
  }
  return vis;
}

function letter(o: WorldObj): string {
  switch (o.type) {
    case 'key': return 'K';
    case 'ball': return 'O';
    case 'box': return 'B';
    case 'door': return (o as Door).isOpen ? '/' : (o as Door).isLocked ? 'L' : 'D';
    case 'goal': return 'G';
    case 'lava': return '~';
    case 'floor': return '.';
    default: return '?';
  }
}

/** The grid as text, one line per row. */
export function drawGrid(env: RoomGridLevel, color: boolean): string {
  const { width: W, height: H, cells } = env.grid;
  const vis = visibleCells(env);
  const [ax, ay] = env.agentPos;
  const lines: string[] = [];
  for (let y = 0; y < H; y++) {
    let line = '';
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const o = cells[p]!;
      const seen = vis[p] === 1;
      let text: string;
      let fg: string | null = null;
      if (x === ax && y === ay) {
        const c = env.carrying;
        text = ARROWS[env.agentDir]! + (c === null ? ' ' : letter(c).toLowerCase());
        fg = c === null ? '1;97' : `1;${FG[c.color]}`;
      } else if (o === null) {
        text = seen && !color ? '· ' : '  ';
      } else if (o.type === 'wall') {
        text = color ? '██' : '##';
        fg = '90';
      } else {
        text = letter(o) + ' ';
        fg = FG[o.color] ?? null;
      }
      if (!color) line += text;
      else line += (seen ? SHADE : '') + (fg === null ? '' : `\x1b[${fg}m`) + text + RESET;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** Grid, mission, carried object, step count and text observation. */
export function drawScreen(env: RoomGridLevel, descriptions: readonly string[], color: boolean): string {
  const c = env.carrying;
  const bold = (s: string) => (color ? `\x1b[1m${s}${RESET}` : s);
  const lines = [
    drawGrid(env, color),
    '',
    `${bold('Mission:')} ${env.mission}`,
    `${bold('Step:')} ${env.stepCount}/${env.maxSteps}   ${bold('Carrying:')} ${c === null ? 'nothing' : `${c.color} ${c.type}`}`,
    bold('Observation:'),
    ...(descriptions.length === 0 ? ['  (nothing)'] : descriptions.map((d) => `  ${d}`)),
  ];
  return lines.join('\n') + '\n';
}
