import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { ApiClient } from '../core/api';
import { InstanceEvents, type StreamState } from './instance-events';
import type { LiveEvent } from '../api/instance-models';
import { InstanceDetail } from './instance-detail';

const instance = {
  id: 'i-aaaaaaaaaaaa',
  name: 'One',
  engine: 'simulated',
  provider: 'process',
  createdAt: '',
  paidUntil: '',
  suspended: false,
  suspendedAt: null,
  stopped: false,
  stoppedAt: null,
  phase: 'Running',
  sessionState: 'STOPPED',
};

function setup(api: Record<string, unknown> = {}) {
  let emit: (e: LiveEvent) => void = () => {};
  let streamState: (s: StreamState) => void = () => {};
  const close = vi.fn();
  const events = {
    open: vi.fn((_id: string, onEvent: (e: LiveEvent) => void, onState: (s: StreamState) => void) => {
      emit = onEvent;
      streamState = onState;
      return { close };
    }),
  };
  const fakeApi = { instance: vi.fn(async () => instance), gateway: vi.fn(), screenshot: vi.fn(), exchange: vi.fn(), ...api };
  TestBed.configureTestingModule({
    providers: [provideRouter([]), { provide: ApiClient, useValue: fakeApi }, { provide: InstanceEvents, useValue: events }],
  });
  const fixture = TestBed.createComponent(InstanceDetail);
  fixture.componentRef.setInput('id', 'i-aaaaaaaaaaaa');
  fixture.detectChanges();
  return {
    fixture,
    c: fixture.componentInstance,
    emit: (e: LiveEvent) => emit(e),
    streamState: (s: StreamState) => streamState(s),
    events,
    close,
    api: fakeApi,
  };
}

describe('InstanceDetail', () => {
  it('opens the event stream for the instance and closes it when leaving', async () => {
    const { fixture, events, close, c } = setup();
    await fixture.whenStable();
    expect(events.open).toHaveBeenCalledWith('i-aaaaaaaaaaaa', expect.any(Function), expect.any(Function));
    await vi.waitFor(() => expect(c.state()).toBe('STOPPED'));
    fixture.destroy();
    expect(close).toHaveBeenCalled();
  });

  it('follows the live stream: QR, pairing code, WORKING, messages and acks', async () => {
    const { fixture, c, emit } = setup();
    await fixture.whenStable();
    emit({ event: 'session.status', data: { state: 'SCAN_QR_CODE' }, timestamp: 1 });
    emit({ event: 'qr', data: { qr: 'QR-1', image: 'data:image/png;base64,AAAA' }, timestamp: 2 });
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector<HTMLImageElement>('[data-testid=qr-image]')?.src).toContain('data:image/png');
    expect(el.querySelector('[data-testid=qr-raw]')?.textContent).toBe('QR-1');
    emit({ event: 'pairing_code', data: { code: 'ABCD-EFGH' }, timestamp: 3 });
    expect(c.pairingCode()).toBe('ABCD-EFGH');
    emit({ event: 'session.status', data: { state: 'WORKING', account: { id: '1555@c.us', phone: '1555' } }, timestamp: 4 });
    expect(c.state()).toBe('WORKING');
    expect(c.qr()).toBeNull();
    const m = {
      id: 'm1',
      chatId: '1@c.us',
      author: '1@c.us',
      fromMe: true,
      isGroup: false,
      type: 'chat',
      body: 'hi',
      timestamp: '',
      ack: 1,
    };
    emit({ event: 'message', data: m, timestamp: 5 });
    emit({ event: 'message', data: m, timestamp: 6 });
    emit({ event: 'message.ack', data: { id: 'm1', chatId: '1@c.us', ack: 3 }, timestamp: 7 });
    expect(c.feed()).toEqual([{ ...m, ack: 3 }]);
    fixture.detectChanges();
    expect(el.textContent).toContain('Linked to +1555');
    fixture.destroy();
  });

  it('log in shows the QR from the response; errors are shown', async () => {
    const gateway = vi.fn(async () => ({ state: 'SCAN_QR_CODE', qr: 'QR-2', qrImage: 'data:image/png;base64,BBBB' }));
    const { fixture, c } = setup({ gateway });
    await fixture.whenStable();
    await c.login();
    expect(gateway).toHaveBeenCalledWith('i-aaaaaaaaaaaa', 'POST', '/v1/session/login', {});
    expect(c.qr()).toEqual({ qr: 'QR-2', image: 'data:image/png;base64,BBBB' });
    c.phone.set('15551234567');
    gateway.mockRejectedValueOnce(new Error('boom'));
    await c.login();
    expect(gateway).toHaveBeenLastCalledWith('i-aaaaaaaaaaaa', 'POST', '/v1/session/login', { phone: '15551234567' });
    expect(c.sessionError()).toBe('boom');
    fixture.destroy();
  });

  it('shows a starting instance as starting with Log in disabled, enabled as soon as its stream answers', async () => {
    const fetched = vi.fn(async () => ({ ...instance, phase: 'Provisioning', sessionState: null as string | null }));
    const { fixture, c, streamState } = setup({ instance: fetched });
    await vi.waitFor(() => expect(c.instance()?.phase).toBe('Provisioning'));
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    const button = () => el.querySelector<HTMLButtonElement>('[data-testid=login-button]')!;
    expect(el.querySelector('[data-testid=instance-starting]')).not.toBeNull();
    expect(button().disabled).toBe(true);
    fetched.mockResolvedValue({ ...instance, phase: 'Running', sessionState: 'STOPPED' });
    streamState('open');
    fixture.detectChanges();
    expect(el.querySelector('[data-testid=instance-starting]')).toBeNull();
    expect(button().disabled).toBe(false);
    // The page asks for the instance again at once (its phase is Running now).
    await vi.waitFor(() => expect(c.instance()?.phase).toBe('Running'));
    fixture.destroy();
  });

  it('a screenshot becomes an object URL', async () => {
    const { fixture, c } = setup({ screenshot: vi.fn(async () => 'blob:x') });
    await c.takeScreenshot();
    expect(c.screenshot()).toBe('blob:x');
    fixture.destroy();
  });
});
