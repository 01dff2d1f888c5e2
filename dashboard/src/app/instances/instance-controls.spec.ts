import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { RUNTIME_CONFIG } from '../core/config';
import type { Instance } from '../api/models';
import { InstanceControls } from './instance-controls';

const inst = (extra: Partial<Instance> = {}): Instance => ({
  id: 'i-aaaaaaaaaaaa',
  name: 'Sales',
  engine: 'simulated',
  provider: 'process',
  createdAt: '2026-11-01T00:00:00Z',
  paidUntil: '2026-12-01T00:00:00Z',
  suspended: false,
  suspendedAt: null,
  stopped: false,
  stoppedAt: null,
  phase: 'Running',
  sessionState: 'WORKING',
  ...extra,
});

function setup(instance: Instance) {
  TestBed.configureTestingModule({
    providers: [provideHttpClient(), provideHttpClientTesting(), { provide: RUNTIME_CONFIG, useValue: { apiBaseUrl: '' } }],
  });
  const fixture = TestBed.createComponent(InstanceControls);
  fixture.componentRef.setInput('instance', instance);
  const changed: Instance[] = [];
  fixture.componentInstance.changed.subscribe((i) => changed.push(i));
  fixture.detectChanges();
  const el = fixture.nativeElement as HTMLElement;
  const button = (name: string) => el.querySelector<HTMLButtonElement>(`[data-testid="${name}"]`);
  return { fixture, el, button, changed, ctl: TestBed.inject(HttpTestingController) };
}

describe('InstanceControls', () => {
  it('a running instance offers Stop and Restart; Stop posts …/stop, shows Stopping… and emits the stopped instance', async () => {
    const { fixture, button, changed, ctl } = setup(inst());
    expect(button('stop')).not.toBeNull();
    expect(button('restart')).not.toBeNull();
    expect(button('start')).toBeNull();
    button('stop')!.click();
    fixture.detectChanges();
    expect(button('stop')!.textContent).toContain('Stopping…');
    expect(button('restart')!.disabled).toBe(true);
    const req = ctl.expectOne('/v1/instances/i-aaaaaaaaaaaa/stop');
    expect(req.request.method).toBe('POST');
    req.flush(inst({ stopped: true, stoppedAt: '2026-11-02T00:00:00Z', phase: 'Stopped' }));
    await fixture.whenStable();
    expect(changed.map((i) => i.phase)).toEqual(['Stopped']);
  });

  it('a stopped instance offers Start only and says it is still billed; restart errors show the api message', async () => {
    const stopped = setup(inst({ stopped: true, phase: 'Stopped' }));
    expect(stopped.button('start')).not.toBeNull();
    expect(stopped.button('stop')).toBeNull();
    expect(stopped.el.textContent).toContain('still billed');
    stopped.button('start')!.click();
    stopped.ctl.expectOne('/v1/instances/i-aaaaaaaaaaaa/start').flush(inst());
    await stopped.fixture.whenStable();
    expect(stopped.changed).toHaveLength(1);
    stopped.fixture.destroy();
    TestBed.resetTestingModule();

    const failing = setup(inst());
    failing.button('restart')!.click();
    failing.ctl
      .expectOne('/v1/instances/i-aaaaaaaaaaaa/restart')
      .flush({ error: { code: 'provider_unavailable', message: 'retry shortly' } }, { status: 503, statusText: 'Unavailable' });
    await failing.fixture.whenStable();
    failing.fixture.detectChanges();
    // The api's code is shown in the dashboard's words (provider_unavailable: try again shortly).
    expect(failing.el.querySelector('[data-testid="control-error"]')!.textContent).toMatch(/Could not restart “Sales”: .*shortly/);
    expect(failing.changed).toEqual([]);
  });

  it('an instance billing suspended shows no buttons (a top-up resumes it)', () => {
    const { el } = setup(inst({ suspended: true, phase: 'Suspended' }));
    expect(el.querySelector('[data-testid="instance-controls"]')).toBeNull();
  });
});
