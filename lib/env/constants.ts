// MiniGrid's index tables (minigrid/core/constants.py), the encoding every view, grid and recorded
// fixture uses. Subtle: the numeric values are part of the file formats (replay states, fixtures);
// never reorder them.

export const OBJECT_TO_IDX = {
  unseen: 0, empty: 1, wall: 2, floor: 3, door: 4, key: 5, ball: 6, box: 7, goal: 8, lava: 9, agent: 10,
} as const;
export type ObjectType = keyof typeof OBJECT_TO_IDX;
export const IDX_TO_OBJECT: readonly ObjectType[] = [
  'unseen', 'empty', 'wall', 'floor', 'door', 'key', 'ball', 'box', 'goal', 'lava', 'agent',
];

export const COLOR_TO_IDX = { red: 0, green: 1, blue: 2, purple: 3, yellow: 4, grey: 5 } as const;
export type Color = keyof typeof COLOR_TO_IDX;
export const COLOR_NAMES: readonly Color[] = ['red', 'green', 'blue', 'purple', 'yellow', 'grey'];
export const IDX_TO_COLOR = COLOR_NAMES;

/** Door states as encoded in the third channel. */
export const STATE_TO_IDX = { open: 0, closed: 1, locked: 2 } as const;
export type DoorState = keyof typeof STATE_TO_IDX;
export const IDX_TO_STATE: readonly DoorState[] = ['open', 'closed', 'locked'];

/** Direction: 0 east (+x), 1 south (+y), 2 west, 3 north. */
export const DIR_TO_VEC: readonly (readonly [number, number])[] = [[1, 0], [0, 1], [-1, 0], [0, -1]];

export const AGENT_VIEW_SIZE = 7;

/** One encoded cell: (type, color, state). */
export type CellCode = readonly [number, number, number];
