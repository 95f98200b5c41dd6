// metrics.jsonl: appends one line per update durably; a killed run's partial last line is skipped by
// the reader and dropped (not glued to) when the writer reopens the file.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GlamError } from '../../lib/errors.js';
import { JsonlWriter, readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { MetricsAccumulator } from '../../lib/ppo/metrics.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glam-jsonl-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('JsonlWriter / readJsonl', () => {
  it('writes one line per update with step and update first, creating the directory', () => {
    const file = path.join(dir, 'run', 'metrics.jsonl');
    const w = new JsonlWriter(file);
    w.appendUpdate(1280, 1, { 'charts/success_rate': 0.25, 'losses/value_loss': 3.5 });
    w.appendUpdate(2560, 2, { 'losses/explained_variance': NaN });
    const m = new MetricsAccumulator();
    m.addEpisode({ episodeReturn: 0.5, length: 12, success: true });
    w.appendUpdate(3840, 3, m.summary());
    w.append({ note: 'line\nbreak' });
    w.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(5); // four lines and the final ''
    expect(text.startsWith('{"step":1280,"update":1,"charts/success_rate":0.25')).toBe(true);
    expect(readJsonl(file)).toEqual([
      { step: 1280, update: 1, 'charts/success_rate': 0.25, 'losses/value_loss': 3.5 },
      { step: 2560, update: 2, 'losses/explained_variance': null },
      { step: 3840, update: 3, 'charts/episodic_return': 0.5, 'charts/episodic_length': 12, 'charts/success_rate': 1 },
      { note: 'line\nbreak' },
    ]);
    expect(() => w.append({})).toThrow(/closed/);
  });

  it('after a kill mid-line: the reader skips the partial line, the writer drops it and appends cleanly', () => {
    const file = path.join(dir, 'metrics.jsonl');
    const w = new JsonlWriter(file);
    w.appendUpdate(1280, 1, { 'charts/SPS': 100 });
    w.appendUpdate(2560, 2, { 'charts/SPS': 110 });
    w.close();
    // Simulate a kill during the third append: half a line, no '\n'.
    fs.appendFileSync(file, '{"step":3840,"update":3,"charts/S');
    expect(readJsonl(file)).toEqual([{ step: 1280, update: 1, 'charts/SPS': 100 }, { step: 2560, update: 2, 'charts/SPS': 110 }]);
    // Resume: the partial line is truncated, earlier lines untouched, the new line is whole.
    const w2 = new JsonlWriter(file);
    w2.appendUpdate(3840, 3, { 'charts/SPS': 120 });
    w2.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(
      '{"step":1280,"update":1,"charts/SPS":100}\n{"step":2560,"update":2,"charts/SPS":110}\n{"step":3840,"update":3,"charts/SPS":120}\n');
    expect(readJsonl(file).map((r) => (r as { update: number }).update)).toEqual([1, 2, 3]);
  });

  it('a file holding only a partial line reads as empty and reopens as empty', () => {
    const file = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":1');
    expect(readJsonl(file)).toEqual([]);
    new JsonlWriter(file).close();
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('finds the last newline across read chunks of a large file', () => {
    const file = path.join(dir, 'metrics.jsonl');
    const w = new JsonlWriter(file);
    const big = 'x'.repeat(100_000);
    w.append({ big });
    w.close();
    fs.appendFileSync(file, `{"big":"${'y'.repeat(150_000)}`);
    new JsonlWriter(file).close();
    expect(readJsonl(file)).toEqual([{ big }]);
  });

  it('throws IoError on a malformed complete line and on a missing file', () => {
    const file = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(file, '{"a":1}\nnot json\n{"b":2}\n');
    expect(() => readJsonl(file)).toThrow(/Malformed JSON on line 2/);
    try { readJsonl(path.join(dir, 'none.jsonl')); } catch (e) { expect((e as GlamError).code).toBe('IoError'); }
    expect(() => readJsonl(path.join(dir, 'none.jsonl'))).toThrow(GlamError);
  });
});
