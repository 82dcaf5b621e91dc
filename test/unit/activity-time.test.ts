import { describe, expect, it } from 'vitest';
import { MAX_ACTIVITY_SKEW_MS, activityTime, boundedActivity, parseTimestamp } from '../../src/hub/activity-time.js';
import { HttpError } from '../../src/hub/api/http.js';

describe('activity timestamps', () => {
  it('reads ISO 8601 times as JupyterHub does: without a zone they are UTC', () => {
    const noon = Date.UTC(2024, 5, 1, 12, 0, 0);
    const cases: Array<[string, number]> = [
      ['2024-06-01T12:00:00Z', noon],
      ['2024-06-01T12:00:00', noon],
      ['2024-06-01 12:00:00', noon],
      ['2024-06-01T12:00', noon],
      ['2024-06-01T14:00:00+02:00', noon],
      ['2024-06-01T14:00:00+0200', noon],
      ['2024-06-01T07:30:00-04:30', noon],
      ['2024-06-01T12:00:00.123456Z', noon + 123],
      ['2024-06-01T12:00:00,5Z', noon + 500],
      ['2024-06-01T12:00:00 UTC', noon],
      ['2024-06-01', Date.UTC(2024, 5, 1)],
    ];
    for (const [text, ms] of cases) expect(`${text} → ${parseTimestamp(text)}`).toBe(`${text} → ${ms}`);
  });

  it('refuses what is not a time: other types, words, impossible dates', () => {
    for (const bad of [
      12,
      null,
      {},
      '',
      'yesterday',
      '2024-02-30T00:00:00Z',
      '2024-13-01',
      '2024-06-01T24:00:00Z',
      '2024-06-01T12:00:00+2',
      '1717243200',
    ]) {
      expect(parseTimestamp(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it("refuses activity more than 59 minutes ahead, with JupyterHub's message, and accepts clock skew below that", () => {
    const now = Date.UTC(2024, 5, 1, 12, 0, 0);
    expect(boundedActivity(now + MAX_ACTIVITY_SKEW_MS, now)).toBe(now + MAX_ACTIVITY_SKEW_MS);
    expect(() => boundedActivity(now + MAX_ACTIVITY_SKEW_MS + 1, now)).toThrow(HttpError);
    expect(activityTime('2024-06-01T12:58:00Z', now)).toBe(now + 58 * 60_000);
    expect(() => activityTime('2024-06-01T13:00:00Z', now)).toThrow(
      new HttpError(400, 'Rejecting activity from more than an hour in the future: 2024-06-01T13:00:00.000Z'),
    );
    expect(() => activityTime('soon', now)).toThrow(new HttpError(400, 'Not a valid timestamp: "soon"'));
  });
});
