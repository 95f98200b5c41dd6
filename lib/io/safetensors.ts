// Safetensors files on disk: read one file's header or tensors, load a model directory (single file or sharded
// via model.safetensors.index.json), and write a file atomically. Byte-level parsing lives in safetensors-format.ts.
// Subtle points:
//  - like transformers, `model.safetensors` wins over the index when both exist;
//  - a whole file is never read into one Buffer (Node's readFileSync stops at 2 GiB and real checkpoints exceed it):
//    the data section is read in batches of consecutive tensors of at most 1 GiB; each tensor's `data` is a
//    subarray of its batch, so tensors share an ArrayBuffer with their neighbours (copy before mutating in place);
//  - `data.byteOffset` is always a multiple of the element size, so `new Float32Array(d.buffer, d.byteOffset, n)`
//    works: the format does not align tensors (an odd-length F16 tensor shifts the next F32 one), so a tensor
//    that lands misaligned in its batch is copied into its own buffer;
//  - shard names come from a file we do not trust: only plain file names in the model directory are accepted;
//  - a tensor present in two shards, an index entry whose shard lacks the tensor, or a missing shard is an error,
//    never a silent choice.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { GlamError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import {
  DTYPE_BITS, parseHeader, parseHeaderLength, serializeSafetensors, type SafetensorsHeader, type StoredTensor,
} from './safetensors-format.js';

export * from './safetensors-format.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const BATCH_BYTES = 1 << 30;

function ioError(file: string, err: unknown, doing: string): GlamError {
  if (err instanceof GlamError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') {
    return new GlamError('SafetensorsMissing', `${file} does not exist (while ${doing}).`, { cause: err });
  }
  return new GlamError('IoError', `${file}: ${doing} failed: ${e.code ?? ''} ${e.message}. Check the path and its permissions.`, { cause: err });
}

function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, Math.min(buf.length - off, BATCH_BYTES), position + off);
    if (n === 0) {
      throw new GlamError('SafetensorsInvalid',
        `${file}: unexpected end of file at byte ${position + off} (expected ${buf.length - off} more bytes); the file changed or was truncated while being read.`);
    }
    off += n;
  }
}

function withFile<T>(file: string, doing: string, fn: (fd: number, size: number) => T): T {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new GlamError('SafetensorsInvalid', `${file} is not a regular file.`);
    return fn(fd, st.size);
  } catch (err) {
    throw ioError(file, err, doing);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function readHeaderFd(fd: number, size: number, file: string): SafetensorsHeader {
  const prefix = new Uint8Array(Math.min(8, size));
  readFully(fd, prefix, 0, file);
  const n = parseHeaderLength(prefix, size, file);
  const json = new Uint8Array(n);
  readFully(fd, json, 8, file);
  return parseHeader(json, size, file);
}

/** Reads and strictly validates the header of one safetensors file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  return withFile(file, 'reading the safetensors header', (fd, size) => readHeaderFd(fd, size, file));
}

/** Reads every tensor of one safetensors file (any dtype; `file` set on each). */
export function readSafetensorsFile(file: string, opts: { batchBytes?: number } = {}): Map<string, StoredTensor> {
  const batchBytes = opts.batchBytes ?? BATCH_BYTES;
  return withFile(file, 'reading safetensors', (fd, size) => {
    const header = readHeaderFd(fd, size, file);
    // Tensors tile the data section (validated), so sorted by offset they are contiguous.
    const sorted = [...header.tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
    const out = new Map<string, StoredTensor>();
    let i = 0;
    while (i < sorted.length) {
      const start = sorted[i]![1].begin;
      let j = i + 1;
      while (j < sorted.length && sorted[j]![1].end - start <= batchBytes) j++;
      const end = sorted[j - 1]![1].end;
      // Not from Buffer's shared pool: each batch owns its ArrayBuffer, starting at byte 0.
      const buf = Buffer.allocUnsafeSlow(end - start);
      readFully(fd, buf, header.dataStart + start, file);
      for (let k = i; k < j; k++) {
        const [name, t] = sorted[k]!;
        let data: Uint8Array = buf.subarray(t.begin - start, t.end - start);
        const align = Math.max(1, DTYPE_BITS[t.dtype] / 8);
        if (data.byteOffset % align !== 0) data = Uint8Array.from(data); // own, aligned copy
        out.set(name, { dtype: t.dtype, shape: t.shape, data, file });
      }
      i = j;
    }
    // Keep the file's own name order (header order) for callers that list tensors.
    return new Map([...header.tensors.keys()].map((name) => [name, out.get(name)!]));
  });
}

function readIndex(indexPath: string): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(indexPath, 'utf8');
  } catch (err) {
    throw ioError(indexPath, err, 'reading the shard index');
  }
  const bad = (what: string) => new GlamError('SafetensorsInvalid',
    `${indexPath}: ${what}. The index must be {"weight_map": {"<tensor name>": "<shard file name>", ...}}; re-download or re-save the model.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const wm = (json as Record<string, unknown>).weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw bad('"weight_map" is missing or not an object');
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw bad(`weight_map["${name}"] is ${JSON.stringify(shard)}, not a file name`);
    if (shard === '' || shard === '.' || shard === '..' || path.basename(shard) !== shard || shard.includes('\\') || shard.includes('\0')) {
      throw bad(`weight_map["${name}"] = ${JSON.stringify(shard)} is not a plain file name inside the model directory`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw bad('"weight_map" is empty');
  return map;
}

function loadSharded(dir: string, indexPath: string): Map<string, StoredTensor> {
  const weightMap = readIndex(indexPath);
  const shards = [...new Set(weightMap.values())];
  for (const shard of shards) {
    if (!fs.existsSync(path.join(dir, shard))) {
      const example = [...weightMap].find(([, s]) => s === shard)![0];
      throw new GlamError('SafetensorsMissing',
        `shard ${path.join(dir, shard)} listed in ${indexPath} (e.g. for "${example}") does not exist. Download all shards of the model.`);
    }
  }
  const out = new Map<string, StoredTensor>();
  for (const shard of shards) {
    const file = path.join(dir, shard);
    for (const [name, t] of readSafetensorsFile(file)) {
      const prev = out.get(name);
      if (prev !== undefined) {
        throw new GlamError('SafetensorsInvalid',
          `tensor "${name}" is stored in two shards, ${prev.file} and ${file}; remove the stale shard or re-save the model.`);
      }
      out.set(name, t);
    }
  }
  for (const [name, shard] of weightMap) {
    const t = out.get(name);
    if (t === undefined || t.file !== path.join(dir, shard)) {
      throw new GlamError('SafetensorsInvalid',
        `${indexPath} maps tensor "${name}" to ${shard}, but ${t === undefined ? 'no shard contains it' : `it is in ${t.file}`}; ` +
          'the index and the shards are out of sync: re-download or re-save the model.');
    }
  }
  return out;
}

/** Loads all tensors of a model directory: model.safetensors, else model.safetensors.index.json and its shards. */
export function loadSafetensors(dir: string): Map<string, StoredTensor> {
  const single = path.join(dir, SINGLE_FILE);
  const index = path.join(dir, INDEX_FILE);
  if (fs.existsSync(single)) return readSafetensorsFile(single);
  if (fs.existsSync(index)) return loadSharded(dir, index);
  throw new GlamError('SafetensorsMissing',
    `no weights in ${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} exists. Download the model's safetensors files ` +
      '(PyTorch .bin checkpoints are not supported; convert them with save_pretrained(..., safe_serialization=True)).');
}

/** Writes tensors as one safetensors file in HF's layout (sorted names, contiguous data, space-padded header), atomically. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, StoredTensor> | Record<string, StoredTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}
