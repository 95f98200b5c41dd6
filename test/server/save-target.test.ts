// What a failed /v1/train/save answers (lib/server/save-target.ts), from the errno Node gives, found
// on the error or its cause chain (Policy.save wraps file errors in IoError / Internal): permissions
// and read-only disks 403 SaveNotWritable, a name collision 409 SavePathConflict, a full disk 507,
// anything else unchanged (a 500). The tests run as root, where chmod cannot make a directory
// unwritable, so the errno cases are built as Node raises them (an Error with code, errno and syscall).
import { expect, test } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { ServerError } from '../../lib/server/http-error.js';
import { saveFailure } from '../../lib/server/save-target.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation failed, open '/root/x/model.safetensors'`), { code, errno: -1, syscall: 'open' });
}

test('errno on the cause chain decides the status and the code', () => {
  const cases: [string, number, string][] = [
    ['EACCES', 403, 'SaveNotWritable'], ['EPERM', 403, 'SaveNotWritable'], ['EROFS', 403, 'SaveNotWritable'],
    ['ENOTDIR', 409, 'SavePathConflict'], ['EEXIST', 409, 'SavePathConflict'], ['EISDIR', 409, 'SavePathConflict'],
    ['ENOSPC', 507, 'InsufficientStorage'], ['EDQUOT', 507, 'InsufficientStorage'],
  ];
  for (const [code, status, name] of cases) {
    for (const e of [errno(code), new GlamError('IoError', 'could not write', { cause: errno(code) }), new GlamError('Internal', 'x', { cause: errno(code) })]) {
      const r = saveFailure(e, 'ckpt/a');
      expect(r).toBeInstanceOf(ServerError);
      expect([(r as ServerError).status, (r as ServerError).code], code).toEqual([status, name]);
      expect((r as ServerError).message).toContain('ckpt/a');
    }
  }
});

test('other failures stay what they were (a server fault, 500)', () => {
  const io = new GlamError('IoError', 'could not write', { cause: errno('EIO') });
  expect(saveFailure(io, 'a')).toBe(io);
  const plain = new Error('boom');
  expect(saveFailure(plain, 'a')).toBe(plain);
  const coded = new GlamError('InvalidArgument', 'bad'); // a GlamError code is not an errno
  expect(saveFailure(coded, 'a')).toBe(coded);
});
