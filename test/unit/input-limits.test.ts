import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { InvalidNameError, validateServerName, validateUserName } from '../../src/kube/names.js';
import { MAX_ACTIVITY_SKEW_MS, boundedActivity } from '../../src/hub/activity-time.js';
import { MAX_JSON_DEPTH, nestingExceeds } from '../../src/hub/api/json-limits.js';
import { MAX_EXPIRES_IN_SECONDS, childExpiry, expiresInProblem } from '../../src/hub/auth/token-expiry.js';

/** depthOf is the nesting depth of a parsed value, the reference nestingExceeds must agree with. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (typeof v === 'object' && v !== null) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

describe('JSON nesting limit', () => {
  test.prop([fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 })])(
    'nestingExceeds agrees with the depth of the parsed value, strings with brackets and escapes included',
    (value, limit) => {
      const text = JSON.stringify(value);
      expect(nestingExceeds(text, limit)).toBe(depthOf(value) > limit);
    },
  );

  it('measures a value nested far deeper than any stack would allow without failing', () => {
    const depth = 1_000_000;
    expect(nestingExceeds(`${'['.repeat(depth)}${']'.repeat(depth)}`, MAX_JSON_DEPTH)).toBe(true);
    expect(nestingExceeds(`{"a": ${'['.repeat(MAX_JSON_DEPTH - 1)}"[[[[\\"["${']'.repeat(MAX_JSON_DEPTH - 1)}}`, MAX_JSON_DEPTH)).toBe(
      false,
    );
  });
});

describe('token expiry', () => {
  it('accepts only null or a whole number of seconds from 1 to the maximum', () => {
    for (const ok of [undefined, null, 1, 60, MAX_EXPIRES_IN_SECONDS]) expect(expiresInProblem(ok)).toBeUndefined();
    for (const bad of [0, -1, 0.5, 1e13, MAX_EXPIRES_IN_SECONDS + 1, Number.NaN, Infinity, '60', true, [60], { s: 1 }])
      expect(expiresInProblem(bad)).toMatch(/whole number of seconds/);
  });

  test.prop([
    fc.option(fc.integer({ min: 1, max: MAX_EXPIRES_IN_SECONDS }), { nil: undefined }),
    fc.option(fc.integer({ min: 0, max: 4e12 }), { nil: null }),
    fc.integer({ min: 0, max: 4e12 }),
  ])(
    'a child token never expires later than its parent, and never sooner than asked unless the parent ends first',
    (expiresIn, parent, now) => {
      const at = childExpiry(expiresIn, parent, now);
      if (parent !== null) {
        expect(at).not.toBeNull();
        expect(at!).toBeLessThanOrEqual(parent);
      }
      if (expiresIn !== undefined) expect(at).toBe(Math.min(now + expiresIn * 1000, parent ?? Infinity));
      if (expiresIn === undefined && parent === null) expect(at).toBeNull();
    },
  );
});

describe('activity skew', () => {
  it('accepts the past and up to 59 minutes ahead, and refuses anything later', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(boundedActivity(now - 86_400_000, now)).toBe(now - 86_400_000);
    expect(boundedActivity(now + MAX_ACTIVITY_SKEW_MS, now)).toBe(now + MAX_ACTIVITY_SKEW_MS);
    expect(() => boundedActivity(now + MAX_ACTIVITY_SKEW_MS + 1, now)).toThrow(/more than an hour in the future/);
    expect(() => boundedActivity(Date.parse('9999-12-31T00:00:00Z'), now)).toThrow(/9999-12-31/);
  });
});

describe('name rules', () => {
  const refused = (name: string) => {
    expect(() => validateUserName(name)).toThrow(InvalidNameError);
    expect(() => validateServerName(name)).toThrow(InvalidNameError);
  };

  it('refuses dot segments, lone surrogates, bidi controls, zero-width characters and the byte-order mark', () => {
    for (const name of [
      '.',
      '..',
      'a\ud800',
      '\udfffb',
      '\u202enimda',
      'a\u2066b\u2069',
      'ali\u200bce',
      'ali\u200dce',
      '\ufeffroot',
      'x\u00ady',
      'a\u061cb',
    ])
      refused(name);
  });

  it('refuses letters of mixed scripts but keeps single scripts and the CJK combinations with Latin', () => {
    for (const name of ['\u0430dmin', 'p\u0430ypal', 'αlpha', 'abc\u05d0']) refused(name);
    for (const name of [
      'alice',
      'müller',
      'иван',
      'ελένη',
      '山田',
      '山田たろう',
      'yamada山田',
      '김철수',
      'kim김철수',
      'user-42_x.y@z',
      'a..b',
      '😀',
      'dr.who',
    ]) {
      expect(validateUserName(name)).toBe(name.normalize('NFC'));
    }
  });

  it('returns names in composed form, so two spellings of one name are one user', () => {
    expect(validateUserName('A\u030asa')).toBe('\u00c5sa');
    expect(validateServerName('cafe\u0301')).toBe('caf\u00e9');
    expect(validateServerName('')).toBe('');
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 12 })])(
    'any accepted name is well-formed, in NFC, not a dot segment and free of formatting characters',
    (raw) => {
      let name: string;
      try {
        name = validateUserName(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidNameError);
        return;
      }
      expect(name).toBe(name.normalize('NFC'));
      expect(/\p{Cs}|\p{Cf}|\p{Cc}|\s|\//u.test(name)).toBe(false);
      expect(['.', '..']).not.toContain(name);
    },
  );
});
