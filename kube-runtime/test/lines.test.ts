/** lineSplitter: a watch's chunks to lines, whatever the chunk boundaries (the apiserver side is in client.test.ts). */
import { lineSplitter } from '../src/client/lines.js';

function split(chunks: string[], stopAt?: string): string[] {
  const lines: string[] = [];
  const feed = lineSplitter((line) => {
    lines.push(line);
    return line !== stopAt;
  });
  for (const c of chunks) feed(c);
  return lines;
}

describe('lineSplitter', () => {
  const stream = '{"type":"ADDED","n":1}\n{"type":"MODIFIED","n":2}\n\n{"type":"DELETED","n":3}\n';
  const whole = ['{"type":"ADDED","n":1}', '{"type":"MODIFIED","n":2}', '', '{"type":"DELETED","n":3}'];

  it('gives the same lines for every way of cutting the stream in two or three', () => {
    expect(split([stream])).toEqual(whole);
    for (let i = 0; i <= stream.length; i++) {
      expect(split([stream.slice(0, i), stream.slice(i)])).toEqual(whole);
      for (let j = i; j <= stream.length; j += 7) expect(split([stream.slice(0, i), stream.slice(i, j), stream.slice(j)])).toEqual(whole);
    }
  });

  it('joins a line spread over many chunks, one character each', () => {
    expect(split([...stream])).toEqual(whole);
  });

  it('keeps a last line without its newline until the newline comes', () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => (lines.push(l), true));
    feed('{"a":1}\n{"b"');
    expect(lines).toEqual(['{"a":1}']);
    feed(':2}');
    expect(lines).toEqual(['{"a":1}']);
    feed('\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('stops going through a chunk when told to', () => {
    expect(split([stream], '{"type":"MODIFIED","n":2}')).toEqual(whole.slice(0, 2));
  });
});
