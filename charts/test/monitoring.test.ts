/**
 * The chart's monitoring parts rendered by `helm template` (no cluster): the PrometheusRule's alerts unit-tested with
 * `promtool test rules` (charts/test/prometheus-rules.test.yaml), the Grafana dashboard ConfigMap, the instances'
 * PodMonitor. promtool is Debian's (`make tools`). The dashboard's PromQL is checked
 * against a running Prometheus by the cluster suite (cluster.e2e.ts).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolsBin } from '@wacloud/testenv';
import { dashboardExpressions, exec, helmTemplate, rulesFileOf, type K8sObject } from './monitoring.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const chartDir = path.resolve(here, '..', 'wacloud');
const promtool = () => path.join(toolsBin(), 'promtool');
const ALERTS = [
  'WacloudOperatorReconcileErrors',
  'WacloudBillingRunFailed',
  'WacloudBillingRunMissed',
  'WacloudInstanceSessionFailed',
  'WacloudWebhookBacklogGrowing',
  'WacloudGatewayInstanceBusy',
  'WacloudInstanceMemoryNearLimit',
];

let objects: K8sObject[];
let dir: string;

beforeAll(async () => {
  objects = await helmTemplate(chartDir, 'wacloud', 'wacloud-system', [
    '--set',
    'prometheusRule.enabled=true',
    '--set',
    'grafanaDashboard.enabled=true',
    '--set',
    'serviceMonitor.enabled=true',
  ]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-rules-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('monitoring shipped in the chart', () => {
  test('off by default: no PrometheusRule, dashboard or monitors', async () => {
    const plain = await helmTemplate(chartDir, 'wacloud', 'wacloud-system', []);
    expect(
      plain.filter((o) => ['PrometheusRule', 'PodMonitor', 'ServiceMonitor'].includes(o.kind) || o.metadata.labels?.grafana_dashboard),
    ).toEqual([]);
  });

  test('the PrometheusRule passes promtool check rules and its unit tests (promtool test rules)', async () => {
    writeFileSync(path.join(dir, 'wacloud-rules.yaml'), rulesFileOf(objects));
    const check = await exec(promtool(), ['check', 'rules', path.join(dir, 'wacloud-rules.yaml')]);
    expect({ code: check.code, out: check.stdout + check.stderr }).toMatchObject({ code: 0 });
    const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert)).sort()).toEqual([...ALERTS].sort());
    const tests = path.join(here, 'prometheus-rules.test.yaml');
    // Every alert is exercised (firing at least once) by the unit tests.
    const testText = readFileSync(tests, 'utf8');
    for (const a of ALERTS)
      expect(testText).toMatch(new RegExp(`alertname: ${a}\\n\\s+eval_time: \\S+\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
    copyFileSync(tests, path.join(dir, 'prometheus-rules.test.yaml'));
    const r = await exec(promtool(), ['test', 'rules', path.join(dir, 'prometheus-rules.test.yaml')]);
    if (r.code !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}${r.stderr}`);
    expect(r.stdout).toContain('SUCCESS');
  });

  test('the Grafana dashboard is a ConfigMap with the sidecar label, its JSON has PromQL in every panel', () => {
    const cms = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    expect(cms.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['wacloud-system/wacloud-grafana-dashboard']);
    const dashboard = JSON.parse(cms[0]!.data!['wacloud.json']!);
    expect(dashboard.uid).toBe('wacloud-overview');
    expect(dashboard.panels.every((p: any) => p.targets?.length > 0)).toBe(true);
    const exprs = dashboardExpressions(dashboard);
    expect(exprs.length).toBeGreaterThan(dashboard.panels.length);
    // No Grafana variable is left (the cluster suite runs each expression on Prometheus).
    for (const e of exprs) expect(e.expr).not.toContain('$');
  });

  test('the instances PodMonitor selects the instance pods by the labels the operator sets, on their metrics port', () => {
    const pm = objects.find((o) => o.kind === 'PodMonitor')!;
    expect(pm.metadata.name).toBe('wacloud-instances');
    expect(pm.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'wacloud-instance',
      'app.kubernetes.io/component': 'instance',
    });
    expect(pm.spec.namespaceSelector).toEqual({ matchNames: ['wacloud-instances'] });
    expect(pm.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
  });
});
