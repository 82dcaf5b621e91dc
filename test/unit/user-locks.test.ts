import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/hub/user-locks.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedLock', () => {
  it('runs the sections of one key one at a time, in arrival order, and those of other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const section = (key: string, id: string) =>
      lock.run(key, async () => {
        log.push(`${id}+`);
        await tick();
        await tick();
        log.push(`${id}-`);
        return id;
      });
    const results = await Promise.all([section('ann', 'a1'), section('ann', 'a2'), section('bob', 'b1'), section('ann', 'a3')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const ann = log.filter((e) => e.startsWith('a'));
    expect(ann).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(lock.size).toBe(0);
  });

  it('releases the key when a section throws, and passes the error on', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('ann', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    await expect(
      lock.run('ann', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await lock.run('ann', () => 'next')).toBe('next');
    expect(lock.size).toBe(0);
  });
});
