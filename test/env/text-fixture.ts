// Loader for the recorded GLAM BabyAI-Text episodes (test/fixtures/babyai-text/glam-episodes.jsonl.gz,
// a byte copy of /work/shared/fixtures/babyai-text/): views flattened to describeView's layout.
// Subtle: the recorded view is nested [i][j][k] (column, row, channel); describeView wants (i*7+j)*3+k.

import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export interface RecordedStep {
  readonly view: Uint8Array;
  readonly carrying: readonly [number, number, number] | null;
  readonly descriptions: readonly string[];
}

export interface RecordedEpisode {
  readonly level: string;
  readonly language: 'english' | 'french';
  readonly seed: number;
  readonly mission: string;
  readonly actions: readonly number[];
  readonly steps: readonly RecordedStep[];
}

const LOCAL = fileURLToPath(new URL('../fixtures/babyai-text/glam-episodes.jsonl.gz', import.meta.url));
const SHARED = '/work/shared/fixtures/babyai-text/glam-episodes.jsonl.gz';

type Nested = number[][][];

function flatten(view: Nested): Uint8Array {
  const out = new Uint8Array(147);
  for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) for (let k = 0; k < 3; k++) out[(i * 7 + j) * 3 + k] = view[i]![j]![k]!;
  return out;
}

let cache: RecordedEpisode[] | undefined;

export function loadEpisodes(): RecordedEpisode[] {
  if (cache) return cache;
  const path = existsSync(LOCAL) ? LOCAL : SHARED;
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.length > 0);
  cache = lines.map((line) => {
    const e = JSON.parse(line) as {
      level: string; language: 'english' | 'french'; seed: number; mission: string; actions: number[];
      steps: { view: Nested; carrying: [number, number, number] | null; descriptions: string[] }[];
    };
    return {
      level: e.level, language: e.language, seed: e.seed, mission: e.mission, actions: e.actions,
      steps: e.steps.map((s) => ({ view: flatten(s.view), carrying: s.carrying, descriptions: s.descriptions })),
    };
  });
  return cache;
}
