/** Journal entries held for events delivered before they were stored (storage/journal-holds.ts), without a server. */
import { JournalHolds } from '../src/storage/journal-holds.js';

const holdsWithLog = () => {
  const committed: number[][] = [];
  return { holds: new JournalHolds((seqs) => committed.push([...seqs])), committed };
};

describe('JournalHolds', () => {
  test('an entry without held events is released when its message is written', () => {
    const { holds, committed } = holdsWithLog();
    holds.written([1, 2]);
    expect(committed).toEqual([[1, 2]]);
  });

  test('an entry is released once its message is written and every event of it has a record, in either order', () => {
    const { holds, committed } = holdsWithLog();
    expect(holds.hold('tenant', 'evt-a', 7)).toBe(true);
    expect(holds.hold('api', 'evt-a', 7)).toBe(true); // the same event id on the other outbox holds it too
    expect(holds.hold('tenant', 'evt-b', 8)).toBe(true);
    holds.written([7, 8, 9]);
    expect(committed).toEqual([[9]]);
    holds.recorded('tenant', ['evt-a']);
    expect(committed).toEqual([[9]]); // evt-a of the api outbox still holds 7
    holds.recorded('api', ['evt-a', 'unknown']);
    holds.recorded('tenant', ['evt-b']);
    expect(committed).toEqual([[9], [7], [8]]);
    expect(holds.size).toBe(0);

    // Recorded before the message's batch is reported written: released by the write.
    holds.hold('tenant', 'evt-c', 10);
    holds.recorded('tenant', ['evt-c']);
    expect(committed).toHaveLength(3);
    holds.written([10]);
    expect(committed.at(-1)).toEqual([10]);
  });

  test('an event handed over twice holds once; recording it twice releases once', () => {
    const { holds, committed } = holdsWithLog();
    expect(holds.hold('tenant', 'evt-a', 3)).toBe(true);
    expect(holds.hold('tenant', 'evt-a', 3)).toBe(false);
    holds.written([3]);
    holds.recorded('tenant', ['evt-a', 'evt-a']);
    holds.recorded('tenant', ['evt-a']);
    expect(committed).toEqual([[3]]);
  });
});
