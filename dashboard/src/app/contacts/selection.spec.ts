import { applyBulkTag, pageSelection, toggleAll, toggleOne } from './selection';

describe('contact list selection', () => {
  it('tells whether none, some or all of the page is selected, ignoring other pages', () => {
    expect(pageSelection([], ['a', 'b'])).toBe('none');
    expect(pageSelection(['x'], ['a', 'b'])).toBe('none');
    expect(pageSelection(['b', 'x'], ['a', 'b'])).toBe('some');
    expect(pageSelection(['x', 'b', 'a'], ['a', 'b'])).toBe('all');
    expect(pageSelection(['a'], [])).toBe('none');
  });

  it('select-all adds the missing contacts of the page, then unselects the page and keeps the rest', () => {
    const page = ['a', 'b', 'c'];
    const all = toggleAll(['x', 'b'], page);
    expect(all).toEqual(['x', 'b', 'a', 'c']);
    expect(pageSelection(all, page)).toBe('all');
    expect(toggleAll(all, page)).toEqual(['x']);
    expect(toggleAll([], page)).toEqual(page);
  });

  it('ticks and unticks one contact', () => {
    expect(toggleOne(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggleOne(['a', 'b'], 'a')).toEqual(['b']);
  });

  it('applies a bulk tagging to the selected contacts the caller may edit, like the api', () => {
    const items = [
      { id: 'a', tags: ['t1'], canEdit: true },
      { id: 'b', tags: ['t2'], canEdit: true },
      { id: 'c', tags: [], canEdit: false },
      { id: 'd', tags: ['t2'], canEdit: true },
    ];
    const next = applyBulkTag(items, ['a', 'b', 'c'], ['t2'], []);
    expect(next.map((c) => c.tags)).toEqual([['t1', 't2'], ['t2'], [], ['t2']]);
    expect(next[2]).toBe(items[2]); // not editable: unchanged
    expect(next[3]).toBe(items[3]); // not selected: unchanged
    const removed = applyBulkTag(next, ['a', 'b', 'd'], [], ['t2']);
    expect(removed.map((c) => c.tags)).toEqual([['t1'], [], [], []]);
  });
});
