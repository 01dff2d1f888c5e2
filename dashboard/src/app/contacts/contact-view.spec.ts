import type { ContactTag } from './contacts.service';
import { colourFor, displayName, favouritesFirst, identityLabel, linesOf, tagChips, TAG_PALETTE, textOn } from './contact-view';

const tags: ContactTag[] = [
  { id: 't1', name: 'lead', color: '#fb8c00', createdAt: '' },
  { id: 't2', name: 'vip', color: '#1e88e5', createdAt: '' },
  { id: 't3', name: 'pale', color: '#ffffcc', createdAt: '' },
];

describe('contact view helpers', () => {
  it('shows the own name, else a WhatsApp name, else the first phone', () => {
    const base = { name: null, phones: ['+5511987650001'], identities: [] };
    expect(displayName({ ...base, name: 'Ana', displayName: 'Ana (api)' })).toBe('Ana (api)');
    expect(displayName({ ...base, name: 'Ana' })).toBe('Ana');
    expect(displayName({ ...base, identities: [{ instanceId: 'i', waId: '1@c.us', pushname: 'Ana P', syncedAt: '' }] })).toBe('Ana P');
    expect(displayName(base)).toBe('+5511987650001');
    expect(displayName({ ...base, phones: [] })).toBe('');
  });

  it('puts favourites first and keeps the order within each group', () => {
    const list = [
      { id: 'a', favourite: false },
      { id: 'b', favourite: true },
      { id: 'c', favourite: false },
      { id: 'd', favourite: true },
    ];
    expect(favouritesFirst(list).map((c) => c.id)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('picks a readable text colour for a tag', () => {
    expect(textOn('#000000')).toBe('#fff');
    expect(textOn('#ffffcc')).toBe('#000');
    expect(textOn('#1e88e5')).toBe('#000');
    expect(textOn('#8e24aa')).toBe('#fff');
    expect(textOn('#fff')).toBe('#000');
    expect(textOn('not a colour')).toBe('#000');
  });

  it('makes chips of known tags in catalogue order', () => {
    expect(tagChips(['t3', 'gone', 't1'], tags)).toEqual([
      { id: 't1', name: 'lead', color: '#fb8c00', text: '#000' },
      { id: 't3', name: 'pale', color: '#ffffcc', text: '#000' },
    ]);
  });

  it('splits "one per line" fields', () => {
    expect(linesOf(' +5511987650001\n\n+5511987650002, +5511987650001 ;x ')).toEqual(['+5511987650001', '+5511987650002', 'x']);
  });

  it('labels identities and colours new tags steadily', () => {
    expect(identityLabel({ waId: '5511987650001@c.us' })).toBe('+5511987650001');
    expect(identityLabel({ waId: '123@lid', phone: '+5511987650001' })).toBe('+5511987650001');
    expect(identityLabel({ waId: '123@lid' })).toBe('123@lid');
    expect(colourFor('vip')).toBe(colourFor('vip'));
    expect(TAG_PALETTE).toContain(colourFor('anything'));
  });
});
