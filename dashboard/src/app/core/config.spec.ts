import { loadRuntimeConfig, normalizeBase, toWebSocketUrl } from './config';

const response = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('runtime config', () => {
  it('prefers window.__WACLOUD_API__', async () => {
    const fetchFn = vi.fn();
    expect(await loadRuntimeConfig(fetchFn as never, { __WACLOUD_API__: 'https://api.example.com/' })).toEqual({
      apiBaseUrl: 'https://api.example.com',
    });
    expect(fetchFn).not.toHaveBeenCalled();
  });

  it('reads config.json', async () => {
    const fetchFn = vi.fn(async () => response(200, { apiBaseUrl: 'http://localhost:3000//' }));
    expect(await loadRuntimeConfig(fetchFn as never, {})).toEqual({ apiBaseUrl: 'http://localhost:3000' });
  });

  it('takes the config.json request index.html started once, and fetches again when that one failed', async () => {
    const fetchFn = vi.fn(async () => response(200, { apiBaseUrl: 'http://fetched:1' }));
    const win: Parameters<typeof loadRuntimeConfig>[1] = {
      __WACLOUD_CONFIG__: Promise.resolve(response(200, { apiBaseUrl: 'http://early:1/' })),
    };
    expect(await loadRuntimeConfig(fetchFn as never, win)).toEqual({ apiBaseUrl: 'http://early:1' });
    expect(fetchFn).not.toHaveBeenCalled();
    expect(win.__WACLOUD_CONFIG__).toBeUndefined();
    expect(await loadRuntimeConfig(fetchFn as never, { __WACLOUD_CONFIG__: Promise.resolve(null) })).toEqual({
      apiBaseUrl: 'http://fetched:1',
    });
  });

  it('defaults to the same origin when config.json is missing, broken or unreachable', async () => {
    expect(await loadRuntimeConfig((async () => response(404, {})) as never, {})).toEqual({ apiBaseUrl: '' });
    expect(await loadRuntimeConfig((async () => new Response('nope')) as never, {})).toEqual({ apiBaseUrl: '' });
    expect(await loadRuntimeConfig((async () => Promise.reject(new TypeError('offline'))) as never, {})).toEqual({ apiBaseUrl: '' });
  });

  it('builds WebSocket URLs for the same origin and for another base', () => {
    expect(toWebSocketUrl('', '/v1/x?a=1', 'https://dash.example.com')).toBe('wss://dash.example.com/v1/x?a=1');
    expect(toWebSocketUrl('http://127.0.0.1:3000', '/v1/x', 'https://dash.example.com')).toBe('ws://127.0.0.1:3000/v1/x');
    expect(normalizeBase(' https://a.b/ ')).toBe('https://a.b');
  });
});
