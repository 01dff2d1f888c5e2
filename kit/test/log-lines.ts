/** Test helper: a pino destination that keeps every JSON line a logger writes, parsed, in `lines`. */
import { Writable } from 'node:stream';

export function logLines(): { destination: Writable; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, any>);
      cb();
    },
  });
  return { destination, lines };
}
