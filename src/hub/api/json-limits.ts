/**
 * MAX_JSON_DEPTH is how deeply a request body may nest arrays and objects. Deeper values are
 * refused before they are parsed, so nothing stored can later make JSON.stringify (or a client's
 * parser) run out of stack while answering someone else.
 */
export const MAX_JSON_DEPTH = 20;

/** MAX_STORED_JSON_BYTES is the largest JSON value the hub keeps for a client (a server's user_options). */
export const MAX_STORED_JSON_BYTES = 64 * 1024;

/**
 * nestingExceeds tells whether a JSON text nests arrays and objects deeper than `limit`; it scans
 * the text once without recursion, so any depth is measured safely.
 */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** jsonBytes is the size of a value as stored: its JSON text in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}
