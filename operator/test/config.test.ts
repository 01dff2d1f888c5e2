/** The operator's configuration (pure): read from the environment it is given, never from process.env. */
import { ConfigError, loadOperatorConfig as loadConfig } from '../src/config.js';

describe('loadOperatorConfig', () => {
  it('reads only the environment passed in', () => {
    const saved = process.env.HOSTNAME;
    process.env.HOSTNAME = 'from-process-env';
    try {
      const c = loadConfig({ HOSTNAME: 'pod-7' });
      expect(c.podName).toBe(`pod-7-${process.pid}`);
      expect(loadConfig({ POD_NAME: 'op-0' }).podName).toBe('op-0');
    } finally {
      if (saved === undefined) delete process.env.HOSTNAME;
      else process.env.HOSTNAME = saved;
    }
  });

  it('fills defaults, freezes, and lists every invalid variable', () => {
    const c = loadConfig({});
    expect(c.maxConcurrentReconciles).toBe(4);
    expect(c.leaderElect).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(
      /METRICS_PORT[\s\S]*LEADER_ELECT|LEADER_ELECT[\s\S]*METRICS_PORT/,
    );
    expect(() => loadConfig({ RENEW_DEADLINE_MS: '20000' })).toThrow(/RENEW_DEADLINE_MS/);
  });
});
