/** The operator's configuration (pure): read from the environment it is given, never from process.env. */
import { mongoUriPort, networkPolicyOptions, statefulSetOptions } from '../src/child-options.js';
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
    expect(c.maxConcurrentReconciles).toBe(16);
    expect(c.leaderElect).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: 'x', LEADER_ELECT: 'maybe' })).toThrow(
      /METRICS_PORT[\s\S]*LEADER_ELECT|LEADER_ELECT[\s\S]*METRICS_PORT/,
    );
    expect(() => loadConfig({ RENEW_DEADLINE_MS: '20000' })).toThrow(/RENEW_DEADLINE_MS/);
  });
});

describe('instance NetworkPolicy and pod security from the configuration', () => {
  it('defaults: egress to kube-dns, the MongoDB pods on the URI port, the internet on 443 minus private ranges; RuntimeDefault', () => {
    const c = loadConfig({ DEFAULT_MONGODB_URI: 'mongodb://root:pw@wacloud-mongodb.wacloud-system.svc:27018/wacloud?authSource=admin' });
    const np = networkPolicyOptions(c);
    expect(np.egress).toEqual({
      dns: { podSelector: { 'k8s-app': 'kube-dns' }, namespaceSelector: { 'kubernetes.io/metadata.name': 'kube-system' }, cidrs: [] },
      mongodb: { peer: { podSelector: { 'app.kubernetes.io/component': 'mongodb' }, namespaceSelector: {} }, cidrs: [], port: 27018 },
      internet: {
        cidrs: ['0.0.0.0/0', '::/0'],
        except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'],
        ports: [443],
      },
      extraRules: [],
    });
    expect(np.metricsScraper).toEqual({
      podSelector: { 'app.kubernetes.io/name': 'prometheus' },
      namespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' },
    });
    expect(statefulSetOptions(c)).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' }, chromiumSandbox: 'auto' });
    expect(networkPolicyOptions(loadConfig({ INSTANCE_EGRESS_POLICY: 'false' })).egress).toBeUndefined();
  });

  it('reads selectors, CIDR lists, ports, extra rules, the seccomp profile and the sandbox mode', () => {
    const c = loadConfig({
      EGRESS_MONGODB_POD_SELECTOR: '',
      EGRESS_MONGODB_CIDRS: '203.0.113.0/24, 2001:db8::/32',
      EGRESS_MONGODB_PORT: '27020',
      EGRESS_INTERNET_PORTS: '443,8443',
      EGRESS_INTERNET_EXCEPT: '10.0.0.0/8,169.254.169.254/32',
      EGRESS_EXTRA_RULES: '[{"to":[{"podSelector":{"matchLabels":{"app":"simnet"}}}],"ports":[{"port":7300}]}]',
      INSTANCE_SECCOMP_PROFILE: '{"type":"Localhost","localhostProfile":"profiles/wacloud-chromium.json"}',
      INSTANCE_CHROMIUM_SANDBOX: 'on',
    });
    const e = networkPolicyOptions(c).egress!;
    expect(e.mongodb).toEqual({
      peer: { podSelector: {}, namespaceSelector: {} },
      cidrs: ['203.0.113.0/24', '2001:db8::/32'],
      port: 27020,
    });
    expect(e.internet).toMatchObject({ except: ['10.0.0.0/8', '169.254.169.254/32'], ports: [443, 8443] });
    expect(e.extraRules).toEqual([{ to: [{ podSelector: { matchLabels: { app: 'simnet' } } }], ports: [{ protocol: 'TCP', port: 7300 }] }]);
    expect(statefulSetOptions(c)).toMatchObject({
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/wacloud-chromium.json' },
      chromiumSandbox: 'on',
    });
  });

  it('refuses a bad CIDR, bad labels, rules or profile, and an egress policy that leaves MongoDB unreachable', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => p.split(':')[0]);
      }
    };
    expect(problems({ EGRESS_INTERNET_EXCEPT: '10.0.0.0/8,169.254.169.254' })).toEqual(['EGRESS_INTERNET_EXCEPT']);
    expect(problems({ EGRESS_DNS_POD_SELECTOR: 'k8s-app' })).toEqual(['EGRESS_DNS_POD_SELECTOR']);
    expect(problems({ EGRESS_EXTRA_RULES: '[{"to":[{"ipBlock":{}}]}]' })).toEqual(['EGRESS_EXTRA_RULES']);
    expect(problems({ EGRESS_EXTRA_RULES: 'not json' })).toEqual(['EGRESS_EXTRA_RULES']);
    expect(problems({ EGRESS_INTERNET_PORTS: '' })).toEqual(['EGRESS_INTERNET_PORTS']);
    expect(problems({ INSTANCE_SECCOMP_PROFILE: '{"type":"Localhost"}' })).toEqual(['INSTANCE_SECCOMP_PROFILE']);
    expect(problems({ INSTANCE_SECCOMP_PROFILE: '{"type":"Unconfined"}' })).toEqual(['INSTANCE_SECCOMP_PROFILE']);
    expect(problems({ INSTANCE_CHROMIUM_SANDBOX: 'maybe' })).toEqual(['INSTANCE_CHROMIUM_SANDBOX']);
    expect(problems({ EGRESS_MONGODB_POD_SELECTOR: '' })).toEqual(['EGRESS_MONGODB_POD_SELECTOR']);
    expect(problems({ EGRESS_MONGODB_POD_SELECTOR: '', INSTANCE_EGRESS_POLICY: 'false' })).toEqual([]);
  });

  it("reads the instances' extra variables; refuses the operator's own names, repeats, and malformed ones", () => {
    expect(statefulSetOptions(loadConfig({})).extraEnv).toEqual([]);
    const c = loadConfig({
      INSTANCE_EXTRA_ENV: JSON.stringify([
        { name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' },
        { name: 'SEND_RATE_PER_S', value: '2' },
        { name: 'WEBHOOK_ALLOW_CIDRS', valueFrom: { configMapKeyRef: { name: 'hooks', key: 'cidrs' } } },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      ]),
    });
    expect(statefulSetOptions(c).extraEnv).toEqual([
      { name: 'WEBHOOK_LOG_RETENTION_MS', value: '2160h' },
      { name: 'SEND_RATE_PER_S', value: '2' },
      { name: 'WEBHOOK_ALLOW_CIDRS', valueFrom: { configMapKeyRef: { name: 'hooks', key: 'cidrs' } } },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
    const message = (json: string) => {
      try {
        loadConfig({ INSTANCE_EXTRA_ENV: json });
        return '';
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
    };
    expect(message('[{"name":"MONGODB_URI","value":"mongodb://elsewhere/"}]')).toMatch(
      /INSTANCE_EXTRA_ENV.*MONGODB_URI is set by the operator itself/,
    );
    expect(message('[{"name":"A","value":"1"},{"name":"A","value":"2"}]')).toMatch(/INSTANCE_EXTRA_ENV.*A is named twice/);
    expect(message('[{"name":"A","value":"1","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]')).toMatch(
      /INSTANCE_EXTRA_ENV.*both value and valueFrom/,
    );
    expect(message('[{"name":"9LIVES","value":"1"}]')).toMatch(/INSTANCE_EXTRA_ENV.*environment variable name/);
    expect(message('[{"name":"A","valueFrom":{"secretKeyRef":{"name":"s"}}}]')).toMatch(/INSTANCE_EXTRA_ENV: 0.valueFrom: must be/);
    expect(message('[{"name":"A","value":1}]')).toMatch(/INSTANCE_EXTRA_ENV/);
    expect(message('{"A":"1"}')).toMatch(/INSTANCE_EXTRA_ENV/);
    expect(message('A=1')).toMatch(/INSTANCE_EXTRA_ENV: must be JSON/);
  });

  it('mongoUriPort: the first host port, else 27017', () => {
    expect(mongoUriPort('mongodb://u:p@db.x.svc:27018,db2:27019/app?authSource=admin')).toBe(27018);
    expect(mongoUriPort('mongodb://[::1]:27020/')).toBe(27020);
    expect(mongoUriPort('mongodb://db.x.svc/app')).toBe(27017);
    expect(mongoUriPort('mongodb+srv://cluster0.example.net/app')).toBe(27017);
  });
});
