/**
 * What counts as storage refusing a write (`src/changes/storage-errors.ts`), for the cases a test machine cannot
 * mount: a quota (tmpfs here has none) and the texts git and the OpenSpec CLI print. The real mounts are in
 * tests/storage-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storageError } from '../src/changes/storage-errors.js';
import { TaskError } from '../src/errors.js';

/** An error shaped as Node's fs calls make them. */
const errno = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}`), { code });

describe('storage errors', () => {
  it('types EDQUOT as ENOSPACE, naming the errno', () => {
    const typed = storageError(errno('EDQUOT', 'disk quota exceeded, write'));
    assert.equal(typed?.code, 'ENOSPACE');
    assert.deepEqual(typed?.details, { errno: 'EDQUOT' });
    assert.match(typed!.message, /quota/);
  });

  it('finds the errno behind a TaskError, and the text git or the OpenSpec CLI printed', () => {
    const wrapped = new TaskError('EGIT', 'git log failed', { cause: errno('EROFS', 'read-only file system, open') });
    assert.equal(storageError(wrapped)?.code, 'EREADONLY');
    const printed = new TaskError('EOPENSPEC', 'openspec init failed: Error: ENOSPC: no space left on device, write');
    assert.equal(storageError(printed)?.code, 'ENOSPACE');
    const git = new TaskError('EGIT', 'git log failed: fatal: Unable to create index.lock: Read-only file system');
    assert.equal(storageError(git)?.code, 'EREADONLY');
  });

  it("leaves other errors alone, and a refusal's text that merely quotes the caller's content", () => {
    assert.equal(storageError(errno('ENOENT', 'no such file or directory')), undefined);
    const quoted = new TaskError('EBADSHAPE', 'Requirement "No space left on device" has no scenario');
    assert.equal(storageError(quoted), undefined);
  });
});
