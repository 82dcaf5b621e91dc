/**
 * onAbort runs `fn` once when `signal` aborts — also when it already has, which a bare
 * `addEventListener('abort', …)` never does — and returns what removes it. Every wait that can be
 * stopped registers through here, so a stop that lands between two waits still ends the next one.
 * An abort that has already happened runs `fn` in a microtask, never inside this call: the caller's
 * own bindings (the remover this returns, above all) exist by then.
 */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (signal === undefined) return () => undefined;
  if (signal.aborted) {
    let removed = false;
    queueMicrotask(() => {
      if (!removed) fn();
    });
    return () => (removed = true);
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
