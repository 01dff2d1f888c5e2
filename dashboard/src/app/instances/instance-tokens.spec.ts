import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import type { InstanceToken } from '../api/models';
import { InstanceTokens } from './instance-tokens';

const tok = (id: string, name: string, permissions: InstanceToken['permissions']): InstanceToken => ({
  id,
  name,
  permissions,
  createdAt: '',
  updatedAt: '',
});

function setup(api: Record<string, unknown> = {}) {
  const fake = {
    instance: vi.fn(async () => ({ id: 'i-aaaaaaaaaaaa', name: 'One' })),
    tokens: vi.fn(async () => [tok('0000000000000001', 'reader', 'r')]),
    createToken: vi.fn(async (_id: string, name: string, permissions: string) => ({
      ...tok('0000000000000002', name, permissions as 'w'),
      token: 'wai_secret',
    })),
    updateToken: vi.fn(async (_id: string, tokenId: string, permissions: string) => tok(tokenId, 'reader', permissions as 'rw')),
    deleteToken: vi.fn(async () => undefined),
    url: (p: string) => p,
    gatewayPath: (id: string, p: string) => `/v1/instances/${id}/api${p}`,
    ...api,
  };
  TestBed.configureTestingModule({ providers: [provideRouter([]), { provide: ApiClient, useValue: fake }] });
  const fixture = TestBed.createComponent(InstanceTokens);
  fixture.componentRef.setInput('id', 'i-aaaaaaaaaaaa');
  fixture.detectChanges();
  return { fixture, c: fixture.componentInstance, api: fake };
}

describe('InstanceTokens', () => {
  it('creates a token and shows its plaintext once, listing it without the secret', async () => {
    const { fixture, c, api } = setup();
    await fixture.whenStable();
    c.name.set('writer');
    c.permissions.set('w');
    await c.create();
    expect(api.createToken).toHaveBeenCalledWith('i-aaaaaaaaaaaa', 'writer', 'w');
    expect(c.created()?.token).toBe('wai_secret');
    expect(c.tokens()?.map((t) => t.name)).toEqual(['reader', 'writer']);
    expect(c.tokens()?.[1]).not.toHaveProperty('token');
    fixture.detectChanges();
    expect((fixture.nativeElement as HTMLElement).querySelector<HTMLInputElement>('[data-testid=token-plaintext]')?.value).toBe(
      'wai_secret',
    );
    c.created.set(null);
    fixture.detectChanges();
    expect((fixture.nativeElement as HTMLElement).textContent).not.toContain('wai_secret');
  });

  it('changes permissions and deletes', async () => {
    const { fixture, c, api } = setup();
    await fixture.whenStable();
    const t = c.tokens()![0]!;
    await c.setPermissions(t, 'r');
    expect(api.updateToken).not.toHaveBeenCalled();
    await c.setPermissions(t, 'rw');
    expect(api.updateToken).toHaveBeenCalledWith('i-aaaaaaaaaaaa', '0000000000000001', 'rw');
    expect(c.tokens()?.[0]?.permissions).toBe('rw');
    await c.remove(c.tokens()![0]!);
    expect(api.deleteToken).toHaveBeenCalledWith('i-aaaaaaaaaaaa', '0000000000000001');
    expect(c.tokens()).toEqual([]);
  });

  it('needs a name', async () => {
    const { c, api } = setup();
    await c.create();
    expect(api.createToken).not.toHaveBeenCalled();
    expect(c.createError()).toMatch(/name/);
  });
});
