// Where the bot puts an object down (MiniGrid's baby_ai_bot.py _find_drop_pos): the closest seen empty
// cell whose 8 neighbours stay connected if it fills up, else any seen empty cell; each first without
// and then with blockers on the way.
// Subtle: the neighbourhood test classes each of the 8 neighbours (clockwise from top-left) as 0 free
// (empty, open door, or the agent's cell), 1 wall, or 2 anything else (objects, unseen cells, and the
// excluded cell, which may soon hold an object); the cell is good when the free neighbours form one arc
// (at most 2 free/non-free changes around the ring) and every class-2 neighbour touches a free one.

import type { Door, Pos, WorldObj } from '../world-object.js';
import type { BotContext } from './subgoal.js';

const RING: readonly (readonly [number, number])[] = [[-1, -1], [0, -1], [1, -1], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0]];

export function findDropPos(ctx: BotContext, exceptPos: Pos | null = null): Pos | null {
  const { env, vis } = ctx;
  const grid = env.grid;
  const W = grid.width;
  const H = grid.height;
  const cells = grid.cells;
  const agentP = env.agentPos[1] * W + env.agentPos[0];
  const exceptP = exceptPos === null ? -1 : exceptPos[1] * W + exceptPos[0];
  const cls = new Int8Array(8);

  const matchEmpty = (p: number, cell: WorldObj | null): boolean => p !== agentP && p !== exceptP && vis[p] === 1 && cell === null;

  const matchUnblock = (p: number, cell: WorldObj | null): boolean => {
    if (!matchEmpty(p, cell)) return false;
    const x = p % W;
    const y = (p - x) / W;
    for (let k = 0; k < 8; k++) {
      const nx = x + RING[k]![0];
      const ny = y + RING[k]![1];
      if (nx < 0 || ny < 0 || nx >= W || ny >= H) {
        cls[k] = 1;
        continue;
      }
      const q = ny * W + nx;
      const c = cells[q]!;
      if (vis[q] === 1 && c !== null && c.type === 'wall') cls[k] = 1;
      else if (vis[q] === 1 && (c === null || (c.type === 'door' && (c as Door).isOpen) || q === agentP) && q !== exceptP) cls[k] = 0;
      else cls[k] = 2;
    }
    let changes = 0;
    for (let k = 0; k < 8; k++) if ((cls[(k + 1) % 8] !== 0) !== (cls[k] !== 0)) changes++;
    for (let k = 0; k < 8; k++) {
      if (cls[k] === 2 && cls[(k + 7) % 8] !== 0 && cls[(k + 1) % 8] !== 0) return false;
    }
    return changes <= 2;
  };

  const r =
    ctx.shortestPath(matchUnblock) ??
    ctx.shortestPath(matchEmpty) ??
    ctx.shortestPath(matchUnblock, true) ??
    ctx.shortestPath(matchEmpty, true);
  if (r === null) return null;
  return [r.finish % W, Math.floor(r.finish / W)];
}
