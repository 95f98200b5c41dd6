// TensorBoard event files written by hand: CRC32C, TFRecord framing and the few protobuf fields of
// tensorflow/tensorboard's event.proto / summary.proto that scalars need. No TensorFlow, no protobuf library.
//
// File: events.out.tfevents.<unix seconds>.<hostname>, a sequence of TFRecords:
//   uint64 LE length | uint32 LE masked_crc32c(length bytes) | data | uint32 LE masked_crc32c(data)
//   masked(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8   (mod 2^32)
// Each data is a serialized Event:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
// Subtle:
// - The first record must be Event{wall_time, file_version: "brain.Event:2"}: TensorBoard reads the
//   version from it (and would otherwise treat out-of-order steps differently).
// - One update is one Event holding all its scalars (TensorBoard splits them by tag); values are float32.
// - Each addScalars() is one write + fsync, so a killed run leaves whole records plus at most one torn
//   record at the end, which TensorBoard's reader stops at (its CRC or length check fails).
// - int64 step: varint of a non-negative safe integer (2^53), computed without 32-bit bit operations.
// - A second writer in the same second gets ".1", ".2", ... appended rather than clobbering the file.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GlamError } from '../errors.js';
import { appendDurably } from '../io/atomic.js';

// CRC32C (Castagnoli), reflected polynomial 0x82F63B78, byte-at-a-time table.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of `data`, continuing from `crc` (the CRC of preceding bytes; 0 to start). */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** TFRecord's masked CRC32C. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames `data` as one TFRecord. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length >>> 0, true);
  dv.setUint32(4, Math.floor(data.length / 0x100000000), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Minimal protobuf encoder: varints, fixed64 double, fixed32 float, length-delimited fields. */
class ProtoWriter {
  readonly #bytes: number[] = [];

  varint(v: number): this {
    // Non-negative safe integers only: division instead of >>> keeps bits above 32.
    while (v >= 0x80) {
      this.#bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#bytes.push(v);
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1);
    for (const x of b) this.#bytes.push(x);
    return this;
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5);
    for (const x of b) this.#bytes.push(x);
    return this;
  }

  int64(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const x of data) this.#bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** The serialized first Event: wall_time and file_version "brain.Event:2". */
export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).string(3, 'brain.Event:2').finish();
}

/** A serialized Event carrying one Summary with a simple_value per defined entry of `scalars`. */
export function encodeScalarsEvent(wallTime: number, step: number, scalars: Readonly<Record<string, number | undefined>>): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, value] of Object.entries(scalars)) {
    if (value === undefined) continue;
    summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
  }
  return new ProtoWriter().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish();
}

export interface TensorBoardWriterOptions {
  /** Host name in the file name (default os.hostname()). */
  readonly hostname?: string;
  /** Clock in seconds since the epoch (default Date.now() / 1000); the file name uses its floor. */
  readonly now?: () => number;
}

/** Creates `base`, or `base.1`, `base.2`, ... if it exists, never overwriting a file. */
function createExclusive(base: string): { fd: number; path: string } {
  for (let k = 0; ; k++) {
    const p = k === 0 ? base : `${base}.${k}`;
    try {
      return { fd: fs.openSync(p, 'wx'), path: p };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || k >= 1000) throw err;
    }
  }
}

/** Writes scalar summaries to a new event file in `logDir` (created if needed). */
export class TensorBoardWriter {
  /** The event file. */
  readonly path: string;
  readonly #now: () => number;
  #fd: number | undefined;

  constructor(logDir: string, options: TensorBoardWriterOptions = {}) {
    this.#now = options.now ?? (() => Date.now() / 1000);
    const host = (options.hostname ?? os.hostname()).replace(/[\\/]/g, '_') || 'localhost';
    const t = this.#now();
    const base = path.join(logDir, `events.out.tfevents.${Math.floor(t)}.${host}`);
    try {
      fs.mkdirSync(logDir, { recursive: true });
      const created = createExclusive(base);
      this.#fd = created.fd;
      this.path = created.path;
    } catch (err) {
      throw new GlamError('IoError', `Creating an event file in ${logDir} failed: ${(err as Error).message}`, { cause: err });
    }
    this.#write(encodeRecord(encodeFileVersionEvent(t)));
  }

  #write(record: Uint8Array): void {
    if (this.#fd === undefined) throw new GlamError('Disposed', `TensorBoardWriter for ${this.path} is closed`);
    try {
      appendDurably(this.#fd, record);
    } catch (err) {
      throw new GlamError('IoError', `Writing ${this.path} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Writes every (tag, value) of `scalars` (an UpdateMetrics; undefined entries skipped) at `step` as one Event and fsyncs (call once per update). */
  addScalars(step: number, scalars: Readonly<Record<string, number | undefined>>, wallTime: number = this.#now()): void {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new GlamError('InvalidArgument', `Expected a non-negative safe integer for step but received ${String(step)}`);
    }
    for (const [tag, v] of Object.entries(scalars)) {
      if (v !== undefined && typeof v !== 'number') throw new GlamError('InvalidArgument', `Expected a number for scalar ${tag} but received ${String(v)} of type ${typeof v}`);
    }
    this.#write(encodeRecord(encodeScalarsEvent(wallTime, step, scalars)));
  }

  /** Writes one scalar. */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.addScalars(step, { [tag]: value }, wallTime);
  }

  /** Closes the file; closing twice is harmless. */
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
