/**
 * KeyedLock runs critical sections one at a time per key, in arrival order; sections of different
 * keys run in parallel. The hub holds a user's lock from the checks of a start or a deletion until
 * its commands are committed, so each sees what the other committed.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await section();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** size is how many keys have a section running or waiting (0 when idle: no key is kept). */
  get size(): number {
    return this.tails.size;
  }
}
