import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import { Team } from './team';
import { TeamApi, type Member } from './team-api';

const owner: Member = { id: 'm_o', userId: 'u_o', email: 'owner@example.com', role: 'owner', rights: {}, createdAt: '' };
const agent: Member = {
  id: 'm_a',
  userId: 'u_a',
  email: 'agent@example.com',
  role: 'agent',
  rights: { 'i-aaaaaaaaaaaa': { canRead: true, canWrite: false, canManageChats: false } },
  createdAt: '',
};
const instance = { id: 'i-aaaaaaaaaaaa', name: 'sales' };

function setup(role: 'owner' | 'agent') {
  const api = {
    me: vi.fn(async () => ({ id: 'u', email: 'x@example.com', balanceMinor: 0, currency: 'USD', createdAt: '', role })),
    instances: vi.fn(async () => [instance]),
  };
  const team = {
    members: vi.fn(async () => [owner, agent]),
    invitations: vi.fn(async () => []),
    setRights: vi.fn(async () => agent),
    setRole: vi.fn(async () => agent),
    invite: vi.fn(async (email: string, r: string) => ({
      id: 'inv_1',
      email,
      role: r,
      createdAt: '2026-12-01T00:00:00Z',
      expiresAt: '2026-12-08T00:00:00Z',
      token: 'wainv_x',
      acceptPath: '/join?token=wainv_x',
    })),
  };
  TestBed.configureTestingModule({
    providers: [provideRouter([]), { provide: ApiClient, useValue: api }, { provide: TeamApi, useValue: team }],
  });
  const fixture = TestBed.createComponent(Team);
  return { fixture, c: fixture.componentInstance, team };
}

describe('Team', () => {
  it("an owner sees the invite form and each agent's rights; ticking Send keeps Read and sets canWrite", async () => {
    const { fixture, team } = setup('owner');
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('#invite-email')).not.toBeNull();
    const send = el.querySelector<HTMLInputElement>('input[aria-label="Send on sales for agent@example.com"]')!;
    const read = el.querySelector<HTMLInputElement>('input[aria-label="Read on sales for agent@example.com"]')!;
    expect(read.checked).toBe(true);
    expect(send.checked).toBe(false);
    send.click();
    await fixture.whenStable();
    expect(team.setRights).toHaveBeenCalledWith('m_a', 'i-aaaaaaaaaaaa', { canRead: true, canWrite: true, canManageChats: false });
  });

  it('shows the invitation link once, absolute, after inviting', async () => {
    const { fixture, c, team } = setup('owner');
    await fixture.whenStable();
    c.email.set('new@example.com');
    await c.invite();
    fixture.detectChanges();
    expect(team.invite).toHaveBeenCalledWith('new@example.com', 'agent');
    const link = (fixture.nativeElement as HTMLElement).querySelector<HTMLInputElement>('[data-testid="invite-link"]')!;
    expect(link.value).toBe(`${window.location.origin}/join?token=wainv_x`);
  });

  it('an agent sees the members only: no invite form, no role selects, no rights', async () => {
    const { fixture, team } = setup('agent');
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('#invite-email')).toBeNull();
    expect(el.querySelector('select')).toBeNull();
    expect(el.querySelector('input[type="checkbox"]')).toBeNull();
    expect(el.textContent).toContain('agent@example.com');
    expect(team.invitations).not.toHaveBeenCalled();
  });
});
