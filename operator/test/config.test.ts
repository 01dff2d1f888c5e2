/** The operator's configuration (pure): read from the environment it is given, never from process.env. */
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('reads only the environment passed in', () => {
    const saved = process.env.HOSTNAME;
    process.env.HOSTNAME = 'from-process-env';
    try {
      const c = loadConfig({ HOSTNAME: 'pod-7' });
      expect(c.POD_NAME).toBe(`pod-7-${process.pid}`);
      expect(loadConfig({ POD_NAME: 'op-0' }).POD_NAME).toBe('op-0');
    } finally {
      if (saved === undefined) delete process.env.HOSTNAME;
      else process.env.HOSTNAME = saved;
    }
  });

  it('fills defaults, freezes, and lists every invalid variable', () => {
    const c = loadConfig({});
    expect(c.MAX_CONCURRENT_RECONCILES).toBe(4);
    expect(c.LEADER_ELECT).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(/METRICS_PORT[\s\S]*LEADER_ELECT|LEADER_ELECT[\s\S]*METRICS_PORT/);
    expect(() => loadConfig({ RENEW_DEADLINE_MS: '20000' })).toThrow(/RENEW_DEADLINE_MS/);
  });
});
