/** Journal entries held for events delivered before they were stored (storage/journal-holds.ts), without a server. */
import { JournalHolds, JournalPins } from '../src/storage/journal-holds.js';

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
    expect([holds.held('tenant'), holds.held('api')]).toEqual([1, 1]); // evt-b, and evt-a of the api outbox
    holds.recorded('api', ['evt-a', 'unknown']);
    holds.recorded('tenant', ['evt-b']);
    expect(committed).toEqual([[9], [7], [8]]);
    expect(holds.size).toBe(0);
    expect([holds.held('tenant'), holds.held('api')]).toEqual([0, 0]);

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

  test('a pin holds an entry like an event, together with them: released when the last hold ends after the write', () => {
    const { holds, committed } = holdsWithLog();
    holds.pin(4);
    holds.hold('tenant', 'evt-a', 4);
    holds.written([4]);
    holds.unpin(4);
    expect(committed).toEqual([]); // evt-a still holds it
    holds.recorded('tenant', ['evt-a']);
    expect(committed).toEqual([[4]]);
    holds.pin(5);
    holds.unpin(5); // ended before the write: the write releases it
    expect(committed).toEqual([[4]]);
    holds.written([5]);
    expect(committed).toEqual([[4], [5]]);
  });
});

describe('JournalPins', () => {
  test('a pin is let go once the operations queued before its release are written, counting a spill file written first', () => {
    const { holds, committed } = holdsWithLog();
    const pins = new JournalPins(holds, 2); // two operations of the previous run's spill file come first
    const release = pins.hold(9);
    pins.enqueued(); // the message
    holds.written([9]); // its batch (with the two spilled operations) is written...
    pins.written(3);
    pins.enqueued(); // ...and its event is queued after that
    release();
    release();
    expect(committed).toEqual([]);
    pins.written(1);
    expect(committed).toEqual([[9]]);
    const now = pins.hold(10);
    holds.written([10]);
    now(); // nothing queued is left unwritten: at once
    expect(committed).toEqual([[9], [10]]);
  });
});
