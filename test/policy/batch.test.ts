// Batch packing: layout, offsets and every bound the engine relies on (pure functions).
import { describe, expect, test } from 'vitest';

import { packBatch } from '../../lib/policy/batch.js';
import { errorCode } from '../glam-error.js';

const limits = { vocabSize: 100, maxPositions: 16 };


describe('packBatch', () => {
  test('lays out prompt after prompt, each followed by its candidates (ragged K)', () => {
    const b = packBatch({ prompts: [[1, 2, 3], [4]], candidates: [[[5], [6, 7]], [[8, 9, 10]]] }, limits);
    expect(Array.from(b.tokens)).toEqual([1, 2, 3, 5, 6, 7, 4, 8, 9, 10]);
    expect(Array.from(b.promptStart)).toEqual([0, 6]);
    expect(Array.from(b.promptLen)).toEqual([3, 1]);
    expect(Array.from(b.candStart)).toEqual([3, 4, 7]);
    expect(Array.from(b.candLen)).toEqual([1, 2, 3]);
    expect(Array.from(b.candPrompt)).toEqual([0, 0, 1]);
  });

  test('bad shapes get typed codes', async () => {
    expect(await errorCode(() => packBatch({ prompts: [[]], candidates: [[[1]]] }, limits))).toBe('EmptyPrompt');
    expect(await errorCode(() => packBatch({ prompts: [[1]], candidates: [[]] }, limits))).toBe('EmptyCandidates');
    expect(await errorCode(() => packBatch({ prompts: [[1]], candidates: [[[]]] }, limits))).toBe('EmptyCandidate');
    expect(await errorCode(() => packBatch({ prompts: [[1]], candidates: [[[100]]] }, limits))).toBe('TokenOutOfRange');
    expect(await errorCode(() => packBatch({ prompts: [[1]], candidates: [[[-1]]] }, limits))).toBe('TokenOutOfRange');
    expect(await errorCode(() => packBatch({ prompts: [Array(15).fill(1)], candidates: [[[1, 2]]] }, limits))).toBe('SequenceTooLong');
    expect(await errorCode(() => packBatch({ prompts: [Array(15).fill(1)], candidates: [[[1]]] }, limits))).toBeUndefined();
    expect(await errorCode(() => packBatch({ prompts: [[1]], candidates: [[[1]], [[2]]] }, limits))).toBe('BatchInvalid');
    expect(await errorCode(() => packBatch({ prompts: [], candidates: [] }, limits))).toBe('BatchInvalid');
    expect(await errorCode(() => packBatch({ prompts: [1 as unknown as number[]], candidates: [[[1]]] }, limits))).toBe('BatchInvalid');
  });
});
