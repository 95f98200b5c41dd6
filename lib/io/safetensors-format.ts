// The safetensors byte format, in memory: dtype table, strict header parsing/validation, and header serialisation.
// Layout: [u64 LE header length N][N bytes of UTF-8 JSON][data section]. The JSON maps tensor names to
// {dtype, shape, data_offsets:[begin,end]} (offsets relative to the data section) plus an optional
// "__metadata__" string->string map. Subtle points, all following the reference implementation
// (huggingface/safetensors, `Metadata::validate` / `deserialize`):
//  - the header starts with '{', may be padded with trailing spaces, and is at most 100 MB;
//  - sorted by offset the tensors must tile the data section exactly: no gap, no overlap, no trailing bytes
//    (zero-sized tensors may share an offset);
//  - byte length = product(shape) * bits(dtype) / 8, computed without overflow (shapes come from the file);
//  - the writer orders names by UTF-8 bytes (Rust's String order), not JS UTF-16 order; they differ for
//    astral characters. HF's writer orders by dtype (widest first), then name: for single-dtype files (what
//    save_pretrained writes) the two agree and our bytes equal HF's (test/io checks this on HF-written fixtures).
// Every failure is a GlamError naming the file, the tensor and absolute byte offsets.

import { GlamError } from '../errors.js';

export type WeightDtype = 'F32' | 'F16' | 'BF16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['F32', 'F16', 'BF16'];

/** Bits per element of every dtype the safetensors spec defines. */
export const DTYPE_BITS = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BITS;

/** A tensor whose dtype is one glam computes with; what the engine receives. */
export interface Tensor {
  dtype: WeightDtype;
  shape: number[];
  data: Uint8Array;
}

/** A tensor as stored in a file: any safetensors dtype (buffers such as masks may be integer); `file` is its origin. */
export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
  file?: string;
}

/** One header entry; `begin`/`end` are relative to the data section, as in the file (absolute = dataStart + begin). */
export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute byte offset of the data section: 8 + header length. */
  dataStart: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export const MAX_HEADER_BYTES = 100_000_000;
const HINT = 'The file is corrupt or truncated: re-download or re-save it (e.g. with save_pretrained).';

export function isWeightDtype(d: string): d is WeightDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

export function isSafetensorsDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BITS, d);
}

function invalid(where: string, what: string): GlamError {
  return new GlamError('SafetensorsInvalid', `${where}: ${what}. ${HINT}`);
}

/** Byte length of a tensor, or an explanation when the shape is unusable. Never overflows. */
export function tensorByteLength(dtype: SafetensorsDtype, shape: readonly number[]): number | string {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return `dimension ${JSON.stringify(d)} is not a non-negative integer`;
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER / 64) return `shape [${shape.join(', ')}] has too many elements`;
  }
  const bits = n * DTYPE_BITS[dtype];
  if (bits % 8 !== 0) return `${n} elements of ${dtype} (${DTYPE_BITS[dtype]} bits) do not fill whole bytes`;
  return bits / 8;
}

/** Reads the u64 LE header length from the first 8 bytes and checks it against the file size. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, where: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw invalid(where, `file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw invalid(where, `header length ${n} (bytes 0..8) exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (n + 8n > BigInt(fileSize)) {
    throw invalid(where, `header length ${n} (bytes 0..8) runs past the end of the ${fileSize}-byte file`);
  }
  if (n < 2n) throw invalid(where, `header length ${n} is too short for a JSON object`);
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates the JSON header (`json` = the N header bytes) of a file of `fileSize` bytes. */
export function parseHeader(json: Uint8Array, fileSize: number, where: string): SafetensorsHeader {
  const dataStart = 8 + json.length;
  const dataLength = fileSize - dataStart;
  let text: string;
  try {
    text = utf8.decode(json);
  } catch {
    throw invalid(where, `header (bytes 8..${dataStart}) is not valid UTF-8`);
  }
  if (text[0] !== '{') throw invalid(where, `header (bytes 8..${dataStart}) does not start with '{'`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(where, `header (bytes 8..${dataStart}) is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(where, `header (bytes 8..${dataStart}) is not a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw invalid(where, `"__metadata__" must be an object of strings, got ${JSON.stringify(entry)}`);
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw invalid(where, `"__metadata__"."${k}" must be a string, got ${JSON.stringify(v)}`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    tensors.set(name, parseEntry(name, entry, dataStart, dataLength, where));
  }
  checkTiling(tensors, dataStart, dataLength, where);
  return { dataStart, tensors, metadata };
}

function parseEntry(name: string, entry: unknown, dataStart: number, dataLength: number, where: string): TensorInfo {
  const at = `tensor "${name}"`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw invalid(where, `${at}: header entry must be an object with dtype, shape and data_offsets`);
  }
  const e = entry as Record<string, unknown>;
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in e)) throw invalid(where, `${at}: header entry has no "${key}"`);
  }
  if (typeof e.dtype !== 'string') throw invalid(where, `${at}: dtype must be a string, got ${JSON.stringify(e.dtype)}`);
  if (!isSafetensorsDtype(e.dtype)) {
    throw new GlamError('TensorDtypeUnsupported',
      `${where}: ${at} has dtype ${JSON.stringify(e.dtype)}, which is not a safetensors dtype ` +
        `(known: ${Object.keys(DTYPE_BITS).join(', ')}; glam computes with ${WEIGHT_DTYPES.join(', ')}). ` +
        'Convert the checkpoint to F32, F16 or BF16.');
  }
  const dtype = e.dtype;
  if (!Array.isArray(e.shape)) throw invalid(where, `${at}: shape must be an array, got ${JSON.stringify(e.shape)}`);
  const shape = e.shape as unknown[];
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalid(where, `${at}: shape [${shape.map((x) => JSON.stringify(x)).join(', ')}] has a dimension that is not a non-negative integer`);
    }
  }
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    throw invalid(where, `${at}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  const abs = `bytes ${dataStart + begin}..${dataStart + end} of the file`;
  if (begin > end) throw invalid(where, `${at}: data_offsets [${begin}, ${end}] has begin > end`);
  if (end > dataLength) {
    throw invalid(where, `${at}: data_offsets [${begin}, ${end}] (${abs}) end past the ${dataLength}-byte data section`);
  }
  const bytes = tensorByteLength(dtype, shape as number[]);
  if (typeof bytes === 'string') throw invalid(where, `${at}: ${bytes}`);
  if (bytes !== end - begin) {
    throw invalid(where, `${at}: ${dtype} [${shape.join(', ')}] needs ${bytes} bytes but data_offsets [${begin}, ${end}] (${abs}) hold ${end - begin}`);
  }
  return { dtype, shape: shape as number[], begin, end };
}

/** Tensors sorted by offset must cover [0, dataLength) exactly, as the reference implementation requires. */
function checkTiling(tensors: Map<string, TensorInfo>, dataStart: number, dataLength: number, where: string): void {
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  let prev = '';
  for (const [name, t] of sorted) {
    if (t.begin < pos) {
      throw invalid(where, `tensor "${name}" (bytes ${dataStart + t.begin}..${dataStart + t.end}) overlaps tensor "${prev}" (ending at byte ${dataStart + pos})`);
    }
    if (t.begin > pos) {
      throw invalid(where, `unclaimed gap at bytes ${dataStart + pos}..${dataStart + t.begin} before tensor "${name}"`);
    }
    pos = t.end;
    prev = name;
  }
  if (pos !== dataLength) {
    throw invalid(where, `${dataLength - pos} trailing bytes at ${dataStart + pos}..${dataStart + dataLength} belong to no tensor`);
  }
}

/** Compares strings by their UTF-8 bytes (= code point order), the order the reference writer uses. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Serialises tensors in HF's layout: names in UTF-8 byte order, data contiguous in that order, compact JSON
 * with "__metadata__" first, header padded with spaces to a multiple of 8. Returns the chunks to write.
 */
export function serializeSafetensors(
  tensors: Map<string, StoredTensor> | Record<string, StoredTensor>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort((a, b) => compareUtf8(a[0], b[0]));
  // The JSON is assembled by hand: a JS object would move integer-like names ("0", "12") to the front.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new GlamError('InvalidArgument', `safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new GlamError('InvalidArgument', 'a tensor may not be named "__metadata__" (reserved by safetensors)');
    if (!isSafetensorsDtype(t.dtype)) throw new GlamError('InvalidArgument', `tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
    const bytes = tensorByteLength(t.dtype, t.shape);
    if (typeof bytes === 'string') throw new GlamError('InvalidArgument', `tensor "${name}": ${bytes}`);
    if (!(t.data instanceof Uint8Array) || t.data.length !== bytes) {
      throw new GlamError('InvalidArgument', `tensor "${name}": ${t.dtype} [${t.shape.join(', ')}] needs ${bytes} bytes of data, got ${t.data?.length}`);
    }
    const info = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += bytes;
    datas.push(t.data);
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  return [prefix, padded, ...datas];
}
