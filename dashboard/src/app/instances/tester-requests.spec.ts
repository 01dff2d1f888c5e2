import { buildRequest, methodById, methods, toInstant } from './tester-requests';

describe('tester requests', () => {
  it('covers every instance method', () => {
    expect(methods().map((m) => m.id)).toEqual([
      'sendMessage',
      'listMessages',
      'getMessage',
      'listContacts',
      'getContact',
      'stats',
      'token',
    ]);
  });

  it('builds a send-message request with its body', () => {
    expect(buildRequest(methodById('sendMessage'), { to: '+15551234567', text: 'hi' })).toEqual({
      method: 'POST',
      path: '/v1/messages',
      body: { to: '15551234567', text: 'hi' },
    });
    expect(buildRequest(methodById('sendMessage'), { to: '1@g.us', text: 'x', quotedMessageId: 'm1' })).toMatchObject({
      body: { quotedMessageId: 'm1' },
    });
    expect(buildRequest(methodById('sendMessage'), { to: '', text: 'x' })).toEqual({ error: 'To (phone number or chat id) is required.' });
  });

  it('turns list filters into a query string, leaving out empty ones', () => {
    const r = buildRequest(methodById('listMessages'), {
      q: 'hello world',
      chatId: '1555@c.us',
      fromMe: 'true',
      isGroup: '',
      limit: '20',
      since: '2026-11-22T10:00:00Z',
    });
    expect(r).toEqual({
      method: 'GET',
      path: '/v1/messages?since=2026-11-22T10%3A00%3A00.000Z&q=hello+world&chatId=1555%40c.us&fromMe=true&limit=20',
    });
    expect(buildRequest(methodById('listMessages'), {})).toEqual({ method: 'GET', path: '/v1/messages' });
    expect(buildRequest(methodById('listContacts'), { q: 'ann', isGroup: 'false' })).toEqual({
      method: 'GET',
      path: '/v1/contacts?q=ann&isGroup=false',
    });
  });

  it('checks the filters', () => {
    expect(buildRequest(methodById('listMessages'), { limit: '0' })).toHaveProperty('error');
    expect(buildRequest(methodById('listMessages'), { limit: '501' })).toHaveProperty('error');
    expect(buildRequest(methodById('listMessages'), { since: 'yesterday' })).toHaveProperty('error');
    expect(buildRequest(methodById('listMessages'), { since: '2026-11-23T00:00:00Z', until: '2026-11-22T00:00:00Z' })).toEqual({
      error: '“Since” must be before “Until”.',
    });
  });

  it('puts ids in the path, encoded', () => {
    expect(buildRequest(methodById('getMessage'), { id: 'true_1555@c.us_ABC' })).toEqual({
      method: 'GET',
      path: '/v1/messages/true_1555%40c.us_ABC',
    });
    expect(buildRequest(methodById('getContact'), { id: '1555@c.us' })).toEqual({ method: 'GET', path: '/v1/contacts/1555%40c.us' });
    expect(buildRequest(methodById('getContact'), {})).toHaveProperty('error');
  });

  it('stats and token need no input', () => {
    expect(buildRequest(methodById('stats'), {})).toEqual({ method: 'GET', path: '/v1/stats' });
    expect(buildRequest(methodById('token'), {})).toEqual({ method: 'GET', path: '/v1/token' });
  });

  it('converts datetime-local values to ISO instants', () => {
    expect(toInstant('1700000000000')).toBe('1700000000000');
    expect(toInstant('')).toBeNull();
    expect(toInstant('2026-11-22T10:00')).toBe(new Date('2026-11-22T10:00').toISOString());
  });
});
