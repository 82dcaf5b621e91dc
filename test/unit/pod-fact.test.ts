import { describe, expect, it } from 'vitest';
import type { PodFact } from '../../machines/pod-fact.js';
import { failureOf, hasExited, isNewer, isRunning } from '../../machines/pod-fact.js';

const pod = (rv: string, over: Partial<Extract<PodFact, { exists: true }>> = {}): PodFact => ({
  exists: true,
  uid: 'u1',
  resourceVersion: rv,
  phase: 'Running',
  ready: true,
  deleting: false,
  ...over,
});

describe('isNewer', () => {
  it('accepts any fact when nothing is known', () => {
    expect(isNewer(null, pod('1'))).toBe(true);
    expect(isNewer(null, { exists: false })).toBe(true);
  });

  it('refuses duplicates and older resourceVersions, whatever the uid', () => {
    expect(isNewer(pod('10'), pod('10'))).toBe(false);
    expect(isNewer(pod('10'), pod('9'))).toBe(false);
    expect(isNewer(pod('10'), pod('9', { uid: 'old' }))).toBe(false);
    expect(isNewer(pod('10'), { exists: false, resourceVersion: '8' })).toBe(false);
  });

  it('compares resourceVersions as integers, not strings', () => {
    expect(isNewer(pod('9'), pod('10'))).toBe(true);
    expect(isNewer(pod('10'), { exists: false, resourceVersion: '11' })).toBe(true);
  });

  it('takes an absence after an absence as nothing new, whatever its resourceVersion', () => {
    expect(isNewer({ exists: false, resourceVersion: '5' }, { exists: false, resourceVersion: '9' })).toBe(false);
  });

  it('takes a fresh read that found nothing only when a pod was known', () => {
    expect(isNewer(pod('10'), { exists: false })).toBe(true);
    expect(isNewer({ exists: false, resourceVersion: '3' }, { exists: false })).toBe(false);
  });

  it('compares opaque resourceVersions for equality only', () => {
    expect(isNewer(pod('a'), pod('a'))).toBe(false);
    expect(isNewer(pod('a'), pod('b'))).toBe(true);
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
