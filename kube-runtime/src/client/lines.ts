/**
 * Splits a text stream into lines for a watch (one JSON event per line, as the apiserver streams them).
 * Each chunk is scanned where it lies: only the part after a chunk's last newline is kept (and joined to the next
 * chunk), so a chunk of many events is not copied again for each of them.
 */

/**
 * Returns a function to call with each chunk in order; it calls `onLine` with every complete line (without its
 * `\n`), and stops going through the chunk when `onLine` returns false (the caller then ends the stream).
 * A last line without a newline is never handed over.
 */
export function lineSplitter(onLine: (line: string) => boolean): (chunk: string) => void {
  let rest = ''; // the stream's text after its last newline so far
  return (chunk) => {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      const line = rest === '' ? chunk.slice(from, nl) : rest + chunk.slice(from, nl);
      rest = '';
      from = nl + 1;
      if (!onLine(line)) return;
    }
    if (from < chunk.length) rest += from === 0 ? chunk : chunk.slice(from);
  };
}
