// TensorBoard event files: CRC32C test vectors, and the written file parsed back by a decoder written
// here independently of the writer (bitwise CRC32C, generic protobuf field reader).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsAccumulator } from '../../lib/ppo/metrics.js';
import { crc32c, maskedCrc32c, TensorBoardWriter } from '../../lib/ppo/tensorboard.js';

// ---- independent decoder ----

/** Bit-at-a-time CRC32C (no table), the definition itself. */
function crcBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}
const mask = (c: number) => Number((((BigInt(c) >> 15n) | (BigInt(c) << 17n)) + 0xa282ead8n) & 0xffffffffn);

function readRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    expect(buf.readUInt32LE(off + 8)).toBe(mask(crcBitwise(buf.subarray(off, off + 8))));
    const data = buf.subarray(off + 12, off + 12 + len);
    expect(buf.readUInt32LE(off + 12 + len)).toBe(mask(crcBitwise(data)));
    out.push(data);
    off += 16 + len;
  }
  expect(off).toBe(buf.length);
  return out;
}

type Field = { no: number; wire: number; varint?: bigint; bytes?: Buffer; fixed?: Buffer };
function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let off = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[off++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (off < buf.length) {
    const key = Number(varint());
    const no = key >> 3, wire = key & 7;
    if (wire === 0) fields.push({ no, wire, varint: varint() });
    else if (wire === 1) { fields.push({ no, wire, fixed: buf.subarray(off, off + 8) }); off += 8; }
    else if (wire === 5) { fields.push({ no, wire, fixed: buf.subarray(off, off + 4) }); off += 4; }
    else if (wire === 2) { const n = Number(varint()); fields.push({ no, wire, bytes: buf.subarray(off, off + n) }); off += n; }
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

interface DecodedEvent { wallTime?: number; step: number; fileVersion?: string; values: { tag: string; value: number }[] }
function decodeEvent(data: Buffer): DecodedEvent {
  const ev: DecodedEvent = { step: 0, values: [] };
  for (const f of readFields(data)) {
    if (f.no === 1 && f.wire === 1) ev.wallTime = f.fixed!.readDoubleLE(0);
    else if (f.no === 2 && f.wire === 0) ev.step = Number(f.varint!);
    else if (f.no === 3 && f.wire === 2) ev.fileVersion = f.bytes!.toString('utf8');
    else if (f.no === 5 && f.wire === 2) {
      for (const v of readFields(f.bytes!)) {
        expect(v.no).toBe(1);
        let tag = '', value = NaN;
        for (const g of readFields(v.bytes!)) {
          if (g.no === 1 && g.wire === 2) tag = g.bytes!.toString('utf8');
          else if (g.no === 2 && g.wire === 5) value = g.fixed!.readFloatLE(0);
          else throw new Error(`unexpected Value field ${g.no}`);
        }
        ev.values.push({ tag, value });
      }
    } else throw new Error(`unexpected Event field ${f.no}/${f.wire}`);
  }
  return ev;
}

// ---- tests ----

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glam-tb-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('crc32c', () => {
  it('matches the standard test vectors (RFC 3720 B.4 and "123456789")', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition, continues across chunks, and masks as TFRecord', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
    expect(crc32c(data)).toBe(crcBitwise(data));
    expect(crc32c(data.subarray(300), crc32c(data.subarray(0, 300)))).toBe(crc32c(data));
    expect(maskedCrc32c(data)).toBe(mask(crcBitwise(data)));
  });
});

describe('TensorBoardWriter', () => {
  it('writes a file that decodes back: valid CRCs, file_version first, scalars round trip', () => {
    const w = new TensorBoardWriter(dir, { hostname: 'testhost', now: () => 1700000000.25 });
    expect(path.basename(w.path)).toBe('events.out.tfevents.1700000000.testhost');
    const updates: { step: number; scalars: Record<string, number> }[] = [
      { step: 1280, scalars: { 'charts/episodic_return': 0.5, 'losses/value_loss': 12.25, 'charts/SPS': 300 } },
      { step: 2560, scalars: { 'charts/success_rate': 0.75, 'losses/explained_variance': NaN } },
      { step: 2 ** 40 + 3, scalars: { 'losses/approx_kl': 1e-3 } },
      { step: 0, scalars: {} },
    ];
    for (const u of updates) w.addScalars(u.step, u.scalars, 1700000001.5);
    w.addScalar('charts/learning_rate', 1e-6, 3840);
    w.close();
    w.close();
    expect(() => w.addScalar('x', 1, 1)).toThrow(/closed/);

    const events = readRecords(fs.readFileSync(w.path)).map(decodeEvent);
    expect(events[0]).toEqual({ wallTime: 1700000000.25, step: 0, fileVersion: 'brain.Event:2', values: [] });
    expect(events).toHaveLength(updates.length + 2);
    updates.forEach((u, i) => {
      const ev = events[i + 1]!;
      expect(ev.step).toBe(u.step);
      expect(ev.wallTime).toBe(1700000001.5);
      expect(ev.fileVersion).toBeUndefined();
      expect(ev.values.map((v) => v.tag)).toEqual(Object.keys(u.scalars));
      ev.values.forEach((v) => {
        const want = u.scalars[v.tag]!;
        if (Number.isNaN(want)) expect(v.value).toBeNaN();
        else expect(v.value).toBe(Math.fround(want));
      });
    });
    expect(events.at(-1)!.values).toEqual([{ tag: 'charts/learning_rate', value: Math.fround(1e-6) }]);
    expect(events.at(-1)!.step).toBe(3840);
  });

  it('never overwrites: a second writer in the same second gets a suffix', () => {
    const a = new TensorBoardWriter(dir, { hostname: 'h', now: () => 42 });
    const b = new TensorBoardWriter(dir, { hostname: 'h', now: () => 42 });
    expect(path.basename(b.path)).toBe('events.out.tfevents.42.h.1');
    a.close(); b.close();
    expect(readRecords(fs.readFileSync(a.path))).toHaveLength(1);
  });

  it("takes a MetricsAccumulator summary directly, skipping metrics without samples", () => {
    const m = new MetricsAccumulator();
    m.set('charts/SPS', 123);
    const s = { ...m.summary(), 'charts/success_rate': undefined };
    const w = new TensorBoardWriter(dir, { hostname: 'h', now: () => 7 });
    w.addScalars(10, s);
    w.close();
    const events = readRecords(fs.readFileSync(w.path)).map(decodeEvent);
    expect(events[1]!.values).toEqual([{ tag: 'charts/SPS', value: 123 }]);
  });

  it('rejects bad steps and values', () => {
    const w = new TensorBoardWriter(dir);
    expect(() => w.addScalars(-1, { a: 1 })).toThrow(/non-negative safe integer for step/);
    expect(() => w.addScalars(1.5, { a: 1 })).toThrow(/step/);
    expect(() => w.addScalars(1, { a: 'x' as unknown as number })).toThrow(/Expected a number for scalar a/);
    w.close();
  });
});
