/**
 * Monitoring helpers of the chart tests: the chart's ServiceMonitors / PodMonitor translated into a plain Prometheus
 * configuration (kubernetes_sd_configs, the relabelling the Prometheus Operator generates for them), a Prometheus
 * (`make tools`: 2.42 built from its Go module, Debian's having no Kubernetes discovery) started on loopback with it, `promtool` runs, and the PromQL of the shipped rules and
 * Grafana dashboard.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startProcess, toolsBin, type ManagedProcess } from '@wacloud/testenv';
import { parseAllDocuments, stringify } from 'yaml';

/** A rendered Kubernetes object (only what these helpers read is typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never rejects (the caller asserts on code and output). `input` goes to stdin. */
export function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Exec> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `helm template` of the chart; resolves with its objects. @throws Error with helm's output when rendering fails. */
export async function helmTemplate(chartDir: string, release: string, namespace: string, args: string[]): Promise<K8sObject[]> {
  const r = await exec(path.join(toolsBin(), 'helm'), ['template', release, chartDir, '-n', namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o);
}

/** Prometheus' label name for a Kubernetes label or annotation name (`app.kubernetes.io/name` → `app_kubernetes_io_name`). */
const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** keep-relabellings for a `matchLabels` selector on `__meta_kubernetes_<what>_label…` (as the Prometheus Operator does). */
function selectorRelabel(what: 'service' | 'pod', matchLabels: Record<string, string>) {
  return Object.entries(matchLabels).map(([k, v]) => ({
    action: 'keep',
    source_labels: [`__meta_kubernetes_${what}_label_${sanitize(k)}`, `__meta_kubernetes_${what}_labelpresent_${sanitize(k)}`],
    regex: `(${v});true`,
  }));
}

/** The target labels the Prometheus Operator sets: namespace, pod, container (and service, endpoint for services). */
const targetLabels = (service: boolean) => [
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
  ...(service
    ? [
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
        { source_labels: ['__meta_kubernetes_endpoint_port_name'], target_label: 'endpoint' },
      ]
    : []),
];

function namespaces(sel: { any?: boolean; matchNames?: string[] } | undefined, own: string) {
  if (sel?.any) return {};
  return { namespaces: { names: sel?.matchNames ?? [own] } };
}

/**
 * Prometheus scrape configurations equivalent to the chart's ServiceMonitors and PodMonitors in `objects`
 * (selectors, namespaces, port names, paths, intervals), discovering targets with `kubeconfig`.
 */
export function scrapeConfigsFor(objects: K8sObject[], kubeconfig: string): object[] {
  const configs: object[] = [];
  for (const o of objects) {
    if (o.kind === 'ServiceMonitor') {
      o.spec.endpoints.forEach((e: any, i: number) =>
        configs.push({
          job_name: `serviceMonitor/${o.metadata.namespace}/${o.metadata.name}/${i}`,
          metrics_path: e.path ?? '/metrics',
          ...(e.interval ? { scrape_interval: e.interval } : {}),
          ...(e.scrapeTimeout ? { scrape_timeout: e.scrapeTimeout } : {}),
          kubernetes_sd_configs: [
            { role: 'endpoints', kubeconfig_file: kubeconfig, ...namespaces(o.spec.namespaceSelector, o.metadata.namespace!) },
          ],
          relabel_configs: [
            ...selectorRelabel('service', o.spec.selector.matchLabels),
            { action: 'keep', source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: e.port },
            ...targetLabels(true),
          ],
        }),
      );
    } else if (o.kind === 'PodMonitor') {
      o.spec.podMetricsEndpoints.forEach((e: any, i: number) =>
        configs.push({
          job_name: `podMonitor/${o.metadata.namespace}/${o.metadata.name}/${i}`,
          metrics_path: e.path ?? '/metrics',
          ...(e.interval ? { scrape_interval: e.interval } : {}),
          ...(e.scrapeTimeout ? { scrape_timeout: e.scrapeTimeout } : {}),
          kubernetes_sd_configs: [
            { role: 'pod', kubeconfig_file: kubeconfig, ...namespaces(o.spec.namespaceSelector, o.metadata.namespace!) },
          ],
          relabel_configs: [
            { action: 'drop', source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)' },
            ...selectorRelabel('pod', o.spec.selector.matchLabels),
            { action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: e.port },
            ...targetLabels(false),
            { target_label: 'job', replacement: `${o.metadata.namespace}/${o.metadata.name}` },
          ],
        }),
      );
    }
  }
  return configs;
}

export interface Prometheus {
  url: string;
  process: ManagedProcess;
  /** GET /api/v1/query; resolves with the HTTP status and the parsed body (`status`, `data` or `errorType`/`error`). */
  query(expr: string): Promise<{ status: number; body: any }>;
  /** The instant vector of `expr` (throws on a query error). */
  vector(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Starts Prometheus (`make tools`) on 127.0.0.1 with `scrapeConfigs`; resolves once it is ready. */
export async function startPrometheus(scrapeConfigs: object[]): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, stringify({ global: { scrape_interval: '5s', evaluation_interval: '5s' }, scrape_configs: scrapeConfigs }));
  const port = await freePort();
  const p = startProcess({
    command: path.join(toolsBin(), 'prometheus'),
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ],
  });
  try {
    await p.waitForOutput(/Server is ready to receive web requests/, 60_000);
  } catch (err) {
    await p.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${String(err)}\n${p.output().slice(-3000)}`);
  }
  const url = `http://127.0.0.1:${port}`;
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    url,
    process: p,
    query,
    async vector(expr) {
      const r = await query(expr);
      if (r.body.status !== 'success') throw new Error(`query ${expr}: ${r.status} ${r.body.errorType}: ${r.body.error}`);
      return r.body.data.result;
    },
    async stop() {
      await p.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `promtool check metrics` on an exposition; resolves with its findings ('' when none). */
export async function promtoolCheckMetrics(text: string): Promise<string> {
  const r = await exec(path.join(toolsBin(), 'promtool'), ['check', 'metrics'], { input: text });
  return `${r.stdout}${r.stderr}`.trim() + (r.code === 0 ? '' : `\n(exit ${r.code})`);
}

/** The rule groups of the rendered PrometheusRule as a Prometheus rules file (YAML). */
export function rulesFileOf(objects: K8sObject[]): string {
  const rules = objects.filter((o) => o.kind === 'PrometheusRule');
  if (rules.length !== 1) throw new Error(`expected one PrometheusRule, rendered ${rules.length}`);
  return stringify({ groups: rules[0]!.spec.groups });
}

/** Grafana's interval macros and the dashboard's variables, replaced so that the expression is plain PromQL. */
export function resolveGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?([A-Za-z_]\w*)\}?/g, '.*');
}

/**
 * Every PromQL expression of a Grafana dashboard: the panels' targets (nested rows too) and the query variables'
 * metric selectors (`label_values(<selector>, label)` → `<selector>`), with Grafana's variables resolved.
 */
export function dashboardExpressions(dashboard: any): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const panels = (list: any[]): void => {
    for (const p of list ?? []) {
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: resolveGrafanaVariables(t.expr) });
      panels(p.panels);
    }
  };
  panels(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q: string = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((.+),\s*\w+\)$/.exec(q.trim());
    out.push({ where: `variable ${v.name}`, expr: resolveGrafanaVariables(m ? m[1]! : q) });
  }
  return out;
}
