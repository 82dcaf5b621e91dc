import { describe, expect, it } from 'vitest';
import type { PodFact } from '../../machines/pod-fact.js';
import { failureOf, hasExited, isRunning, relation } from '../../machines/pod-fact.js';

const pod = (rv: string, over: Partial<Extract<PodFact, { exists: true }>> = {}): PodFact => ({
  exists: true,
  uid: 'u1',
  resourceVersion: rv,
  phase: 'Running',
  ready: true,
  deleting: false,
  ...over,
});

describe('relation', () => {
  it('takes any fact as newer when nothing is known', () => {
    expect(relation(null, pod('1'))).toBe('newer');
    expect(relation(null, { exists: false })).toBe('newer');
  });

  it('orders facts about one uid by resourceVersion as integers, not strings', () => {
    expect(relation(pod('9'), pod('10'))).toBe('newer');
    expect(relation(pod('10'), pod('10'))).toBe('stale');
    expect(relation(pod('10'), pod('9'))).toBe('stale');
  });

  it('never compares resourceVersions across uids', () => {
    expect(relation(pod('10'), pod('9', { uid: 'other' }))).toBe('unordered');
    expect(relation(pod('10'), pod('11', { uid: 'other' }))).toBe('unordered');
  });

  it('orders opaque versions of one pod by its progress, which only moves forward', () => {
    expect(relation(pod('b', { phase: 'Pending', ready: false }), pod('a'))).toBe('newer');
    expect(relation(pod('b'), pod('a', { deleting: true, ready: false }))).toBe('newer');
    expect(relation(pod('a', { deleting: true, ready: false }), pod('b'))).toBe('stale');
  });

  it('accepts a deletion of the known uid at its own revision or later, and any deletion of it when versions are opaque', () => {
    expect(relation(pod('10'), { exists: false, uid: 'u1', resourceVersion: '10' })).toBe('newer');
    expect(relation(pod('10'), { exists: false, uid: 'u1', resourceVersion: '3' })).toBe('stale');
    expect(relation(pod('a'), { exists: false, uid: 'u1', resourceVersion: 'b' })).toBe('newer');
    expect(relation(pod('10'), { exists: false, uid: 'other', resourceVersion: '11' })).toBe('stale');
  });

  it('orders a list absence after a presence only at or after its version, otherwise leaves it unordered', () => {
    expect(relation(pod('10'), { exists: false, resourceVersion: '10' })).toBe('newer');
    expect(relation(pod('10'), { exists: false, resourceVersion: '11' })).toBe('newer');
    expect(relation(pod('10'), { exists: false, resourceVersion: '8' })).toBe('unordered');
    expect(relation(pod('10'), { exists: false, resourceVersion: 'opaque' })).toBe('unordered');
  });

  it('takes an absence after an absence as nothing new, whatever its resourceVersion', () => {
    expect(relation({ exists: false, resourceVersion: '5' }, { exists: false, resourceVersion: '9' })).toBe('stale');
  });

  it('never lets a deleted uid come back', () => {
    expect(relation({ exists: false, uid: 'u1' }, pod('99'))).toBe('stale');
    expect(relation({ exists: false, uid: 'u1' }, pod('1', { uid: 'u2' }))).toBe('unordered');
  });

  it('leaves opaque resourceVersions of one pod unordered unless equal', () => {
    expect(relation(pod('a'), pod('a'))).toBe('stale');
    expect(relation(pod('a'), pod('b'))).toBe('unordered');
    expect(relation(pod('010'), pod('9'))).toBe('unordered');
  });
});

describe('relation of a listed fact', () => {
  it("takes what a list at or after the known version shows as the pod now, whatever the pod's own version", () => {
    expect(relation(pod('10'), pod('7', { ready: false }), '12')).toBe('newer');
    expect(relation(pod('10'), pod('10', { ready: false }), '10')).toBe('newer');
    expect(relation(pod('10'), pod('10'), '12')).toBe('stale');
  });

  it('leaves a list older than the known version unordered: a stale list or a cluster that went back', () => {
    expect(relation(pod('10'), pod('7', { ready: false }), '8')).toBe('unordered');
    expect(relation(pod('10'), pod('7', { uid: 'other' }), '8')).toBe('unordered');
  });
});

describe('pod predicates', () => {
  it('calls a pod running only when ready, in phase Running and not terminating', () => {
    expect(isRunning(pod('1'))).toBe(true);
    expect(isRunning(pod('1', { ready: false }))).toBe(false);
    expect(isRunning(pod('1', { deleting: true }))).toBe(false);
    expect(isRunning(pod('1', { phase: 'Pending' }))).toBe(false);
    expect(isRunning({ exists: false })).toBe(false);
  });

  it('names the failure of a pod that will not serve by itself', () => {
    expect(failureOf(pod('1', { phase: 'Pending', ready: false, reason: 'ImagePullBackOff' }))).toBe('pod ImagePullBackOff');
    expect(failureOf(pod('1', { phase: 'Failed', reason: 'Evicted' }))).toBe('pod failed: Evicted');
    expect(failureOf(pod('1', { phase: 'Failed', reason: 'OOMKilled', exitCode: 137 }))).toBe('pod failed: OOMKilled (exit code 137)');
    expect(failureOf(pod('1', { phase: 'Succeeded', exitCode: 0 }))).toBeUndefined();
    expect(hasExited(pod('1', { phase: 'Succeeded', exitCode: 0 }))).toBe(true);
    expect(failureOf(pod('1', { phase: 'Pending', ready: false, reason: 'ContainerCreating' }))).toBeUndefined();
  });
});
