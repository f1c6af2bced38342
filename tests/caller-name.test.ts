/**
 * OAuth callers' names (src/auth/caller-name.ts) and the issuer labels they carry (`OAUTH_ISSUER`): every name fits
 * the contract's `Owner` pattern, none is a static token's, and no two subjects or issuers share one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { callerName, defaultLabel, isTokenName, labelOf } from '../src/auth/caller-name.js';
import { isActorName } from '../src/changes/owner.js';
import { ConfigError, readConfig } from '../src/config/index.js';

/** The escaping read back, left to right: what proves two escaped subjects never share a name. */
function unescape(part: string): string {
  const bytes: number[] = [];
  let i = 0;
  while (i < part.length) {
    if (part[i] !== '_') {
      bytes.push(...Buffer.from(part[i]!, 'utf8'));
      i += 1;
    } else if (part[i + 1] === '_') {
      bytes.push(0x5f);
      i += 2;
    } else if (/^[0-9a-f]{2}$/.test(part.slice(i + 1, i + 3))) {
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      throw new Error(`not an escaped subject at ${i}: ${part}`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const subjectPart = (name: string): string => name.slice(0, name.lastIndexOf('~'));

describe('the caller name of an OAuth subject', () => {
  it('keeps a plain subject, marks its issuer, and escapes what the Owner pattern cannot hold', () => {
    const cases: Array<[string, string]> = [
      ['carol', 'carol~kc'],
      ['bob@example.com', 'bob@example.com~kc'],
      ['248289761001', '248289761001~kc'],
      ['auth0|64f1c2ab', 'auth0_7c64f1c2ab~kc'],
      ['google-oauth2|1234', 'google-oauth2_7c1234~kc'],
      ['john_doe', 'john__doe~kc'],
      ['zoë', 'zo_c3_ab~kc'],
      ['https://idp.example/u/7', 'https_3a_2f_2fidp.example_2fu_2f7~kc'],
      ['carol~kc', 'carol_7ekc~kc'],
      ['a/b', 'a_2fb~kc'],
    ];
    for (const [subject, name] of cases) {
      assert.equal(callerName(subject, 'kc'), name, subject);
      assert.equal(unescape(subjectPart(name)), subject);
    }
  });

  it('gives a subject too long for the pattern a readable prefix and 80 bits of its hash', () => {
    const subject = `${'x'.repeat(50)}|${'y'.repeat(50)}`;
    const name = callerName(subject, 'kc');
    assert.match(name, /^x{42}_z[0-9a-f]{20}~kc$/);
    assert.ok(isActorName(name));
    assert.notEqual(callerName(`${subject}!`, 'kc'), name);
    // Never an escape cut in two: the prefix ends on a whole token.
    assert.match(callerName('|'.repeat(40), 'kc'), /^(_7c){14}_z[0-9a-f]{20}~kc$/);
  });

  it('is an Owner that no static token can have, for any subject', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (subject) => {
        const name = callerName(subject, 'kc');
        assert.ok(isActorName(name), name);
        assert.ok(!isTokenName(name), name);
        assert.equal(labelOf(name), 'kc');
      }),
    );
  });

  it('never gives two subjects one name, nor one subject of two issuers', () => {
    // Short enough to be escaped, not hashed: read back, each is its own subject.
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 21 }), (subject) => {
        assert.equal(unescape(subjectPart(callerName(subject, 'kc'))), subject);
        assert.notEqual(callerName(subject, 'kc'), callerName(subject, 'auth0'));
      }),
    );
    // Any text, lone surrogates and subjects past the pattern's length among it.
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
        (a, b) => {
          fc.pre(a !== b);
          assert.notEqual(callerName(a, 'kc'), callerName(b, 'kc'));
        },
      ),
    );
    assert.notEqual(callerName('\ud800', 'kc'), callerName('\ud801', 'kc'));
  });
});

describe('issuer labels', () => {
  const env = (issuers: string) => ({ PUBLIC_URL: 'https://tasks.example.com', OAUTH_ISSUER: issuers });

  it("default to the first name of the issuer's host, or its whole address", () => {
    assert.equal(defaultLabel('https://tenant.auth0.com/'), 'tenant');
    assert.equal(defaultLabel('https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0'), 'login');
    assert.equal(defaultLabel('https://kc.example.com/realms/eng'), 'kc');
    assert.equal(defaultLabel('http://127.0.0.1:9000'), '127-0-0-1');
  });

  it('are read as label=issuer, or the default, one per issuer', () => {
    const config = readConfig(env('eng=https://kc.example.com/realms/eng, ops=https://kc.example.com/realms/ops'));
    assert.deepEqual(config.oauth?.issuers, ['https://kc.example.com/realms/eng', 'https://kc.example.com/realms/ops']);
    assert.deepEqual(config.oauth?.labels, {
      'https://kc.example.com/realms/eng': 'eng',
      'https://kc.example.com/realms/ops': 'ops',
    });
    assert.deepEqual(readConfig(env('https://tenant.auth0.com/')).oauth?.labels, {
      'https://tenant.auth0.com/': 'tenant',
    });
  });

  it('stop the server when two issuers would share one, or one is not a label', () => {
    const cases: Array<[string, RegExp]> = [
      [
        'https://kc.example.com/realms/eng,https://kc.example.com/realms/ops',
        /^OAUTH_ISSUER entries 1 and 2 both have the label "kc": give each its own, like label=https:\/\/…$/,
      ],
      ['a=https://a.example.com,a=https://b.example.com', /^OAUTH_ISSUER entries 1 and 2 both have the label "a"/],
      [`${'x'.repeat(33)}=https://a.example.com`, /^OAUTH_ISSUER entry 1 needs a label of 1–32 characters/],
      ['Eng=https://a.example.com', /^OAUTH_ISSUER entry 1 must be an https: URL/],
    ];
    for (const [issuers, message] of cases) {
      assert.throws(
        () => readConfig(env(issuers)),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
        `${issuers} should fail with ${message}`,
      );
    }
  });
});
