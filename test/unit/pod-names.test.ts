import { describe, expect, it } from 'vitest';
import {
  InvalidNameError,
  MAX_POD_NAME_PREFIX,
  legacyPodName,
  podName,
  podNameCandidates,
  serverKey,
  validatePodNamePrefix,
} from '../../src/kube/names.js';

describe('pod names', () => {
  it("gives a user named like another user's hashed pod name a pod name of its own (squatting regression)", () => {
    const victim = podName(serverKey('Bob'));
    const squatter = podName(serverKey(victim.slice('jupyter-'.length)));
    expect(squatter).not.toBe(victim);
    // The earlier scheme's squat: `bob-<8 hex>` took the name of `Bob`'s pod; it keeps its plain name and `Bob` moved.
    const oldVictim = legacyPodName(serverKey('Bob'));
    expect(podName(serverKey(oldVictim.slice('jupyter-'.length)))).toBe(oldVictim);
    expect(podName(serverKey('Bob'))).not.toBe(oldVictim);
  });

  it('keeps plain names readable and marks hashed ones with three hyphens and a 26-character digest', () => {
    expect(podName(serverKey('alice'))).toBe('jupyter-alice');
    expect(podName(serverKey('alice', 'lab-2'))).toBe('jupyter-alice--lab-2');
    expect(podName(serverKey('Alice'))).toMatch(/^jupyter-alice---[a-z2-7]{26}$/);
    expect(podName(serverKey('ボブ', 'ラボ'))).toMatch(/^jupyter-x--x---[a-z2-7]{26}$/);
    expect(podName(serverKey('a'.repeat(255)))).toHaveLength(63);
  });

  it('looks a server up under the earlier name only when the earlier scheme named it differently', () => {
    expect(podNameCandidates(serverKey('alice', 'lab'))).toEqual(['jupyter-alice--lab']);
    expect(podNameCandidates(serverKey('Bob'))).toEqual([podName(serverKey('Bob')), legacyPodName(serverKey('Bob'))]);
  });

  it('refuses a pod name prefix that is not a DNS label or leaves no room for a hashed name', () => {
    expect(validatePodNamePrefix('x'.repeat(MAX_POD_NAME_PREFIX))).toHaveLength(MAX_POD_NAME_PREFIX);
    for (const bad of ['', 'Jupyter', 'jupyter-', '-j', 'j_h', 'x'.repeat(MAX_POD_NAME_PREFIX + 1)]) {
      expect(() => validatePodNamePrefix(bad)).toThrow(InvalidNameError);
      expect(() => podName(serverKey('alice'), bad)).toThrow(InvalidNameError);
    }
  });
});
