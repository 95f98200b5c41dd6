// metrics.jsonl: one JSON object per line, one line per update ({"step": frames, "update": n, ...metrics}),
// appended durably, and the reader that goes with it.
//
// Subtle:
// - A line counts once its '\n' is on disk. Each line is written whole (a loop over partial writes) and
//   fsync'd before append() returns, so a killed run loses at most the line being written, and that line
//   lacks its '\n'. JSON.stringify escapes newlines inside strings, so '\n' occurs only at line ends.
// - Opening an existing file (a resumed run) first truncates a trailing partial line left by a kill;
//   appending after it would glue the next line onto it and corrupt both.
// - readJsonl skips a trailing partial line (no '\n') and throws on a malformed complete line.
// - Non-finite numbers become null (JSON has no NaN), e.g. explained variance when Var(R) = 0.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { GlamError } from '../errors.js';
import { appendDurably } from '../io/atomic.js';

function ioError(what: string, file: string, err: unknown): GlamError {
  const msg = err instanceof Error ? err.message : String(err);
  return new GlamError('IoError', `${what} ${file} failed: ${msg}`, { cause: err });
}

/** Byte length of `fd`'s content up to and including its last '\n' (0 if none). */
function committedLength(fd: number): number {
  const size = fs.fstatSync(fd).size;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

export class JsonlWriter {
  /** The file written. */
  readonly path: string;
  #fd: number | undefined;

  /** Opens `file` for appending (creating it and its directory), dropping a trailing partial line. */
  constructor(file: string) {
    this.path = file;
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.#fd = fs.openSync(file, 'a+');
      const keep = committedLength(this.#fd);
      if (keep < fs.fstatSync(this.#fd).size) {
        fs.ftruncateSync(this.#fd, keep);
        fs.fsyncSync(this.#fd);
      }
    } catch (err) {
      if (this.#fd !== undefined) fs.closeSync(this.#fd);
      this.#fd = undefined;
      throw ioError('Opening', file, err);
    }
  }

  /** Appends `record` as one line and fsyncs it. */
  append(record: Record<string, unknown>): void {
    if (this.#fd === undefined) throw new GlamError('Disposed', `JsonlWriter for ${this.path} is closed`);
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    try {
      appendDurably(this.#fd, line);
    } catch (err) {
      throw ioError('Appending to', this.path, err);
    }
  }

  /** Appends {"step": frames, "update": n, ...metrics} (an UpdateMetrics; undefined entries are left out). */
  appendUpdate(step: number, update: number, metrics: Readonly<Record<string, number | undefined>>): void {
    this.append({ step, update, ...metrics });
  }

  /** Closes the file; later appends throw Disposed. Closing twice is harmless. */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    fs.closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The records of a JSON-lines file, skipping a trailing partial line; throws IoError on a malformed complete line. */
export function readJsonl(file: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw ioError('Reading', file, err);
  }
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  const out: unknown[] = [];
  const lines = text.slice(0, end).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch (err) {
      throw new GlamError('IoError', `Malformed JSON on line ${i + 1} of ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
