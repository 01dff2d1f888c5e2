/** Reading the persister's spill file (EJSON lines): its unread tail, its line count. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The bytes of `file` from `offset` to its end. */
export function readTail(file: string, offset: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    let pos = 0;
    while (pos < buf.length) {
      const n = readSync(fd, buf, pos, buf.length - pos, offset + pos);
      if (n === 0) break;
      pos += n;
    }
    return buf.subarray(0, pos);
  } finally {
    closeSync(fd);
  }
}

/** The lines (operations) in `file`. */
export function countLines(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let n = 0;
    let pos = 0;
    for (;;) {
      const read = readSync(fd, buf, 0, buf.length, pos);
      if (read === 0) return n;
      for (let i = 0; i < read; i++) if (buf[i] === 10) n++;
      pos += read;
    }
  } finally {
    closeSync(fd);
  }
}
