import { contactChips, conversationTitle } from './conversation-list';

describe('conversation list', () => {
  const contact = {
    id: 'ct_1',
    displayName: 'Imported Customer 3',
    tags: [
      { id: 'tag_1', name: 'imported', color: '#ffffcc' },
      { id: 'tag_2', name: 'vip', color: '#000080' },
    ],
  };

  it("lists a conversation under its contact's name, else the push name, else the number, else the chat id", () => {
    expect(conversationTitle({ name: 'WA Customer 3', chatId: '5511987650003@c.us', contact })).toBe('Imported Customer 3');
    expect(conversationTitle({ name: 'WA Customer 3', chatId: '5511987650003@c.us', contact: null })).toBe('WA Customer 3');
    expect(conversationTitle({ name: '', chatId: '5511987650003@c.us', contact: null })).toBe('+5511987650003');
    expect(conversationTitle({ name: '', chatId: '5511987650003@c.us' })).toBe('+5511987650003'); // a live event: no contact field
    expect(conversationTitle({ name: '', chatId: '120363000000000000@g.us', contact: null })).toBe('120363000000000000@g.us');
    expect(conversationTitle({ name: 'Team', chatId: '120363000000000000@g.us', contact: { ...contact, displayName: '' } })).toBe('Team');
  });

  it("shows the contact's tags as chips with a readable text colour", () => {
    expect(contactChips({ contact })).toEqual([
      { id: 'tag_1', name: 'imported', color: '#ffffcc', text: '#000' },
      { id: 'tag_2', name: 'vip', color: '#000080', text: '#fff' },
    ]);
    expect(contactChips({ contact: null })).toEqual([]);
    expect(contactChips({})).toEqual([]);
  });
});
