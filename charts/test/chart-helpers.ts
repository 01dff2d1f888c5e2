/**
 * What the chart's tests share: the real helm binary (`make tools` builds it into .tools/bin), `helm template` of each
 * values set (cached), kubectl against testenv's control plane, and minimal CRDs of the Prometheus Operator's kinds.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolsBin, type ControlPlane } from '@wacloud/testenv';
import { parseAllDocuments } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RBAC_YAML = path.join(repoRoot, 'operator', 'deploy', 'rbac.yaml');
export const HELM_VERSION = 'v3.19.0';
export const chartDir = path.join(repoRoot, 'charts', 'wacloud');
export const RELEASE = 'wacloud';
export const NS = 'wacloud-system';

/** The values files the chart is tested with: the defaults, then every ci/*-values.yaml. */
export const VALUES: Record<string, string[]> = {
  default: [],
  ci: ['-f', path.join(chartDir, 'ci', 'ci-values.yaml')],
  external: ['-f', path.join(chartDir, 'ci', 'external-values.yaml')],
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
}

/** .tools/bin/helm; a missing binary fails the test (never a silent skip). */
export function helmBin(): string {
  const bin = path.join(toolsBin(), 'helm');
  if (!existsSync(bin))
    throw new Error(
      `helm not found at ${bin}: run \`make tools\` (builds helm ${HELM_VERSION} into the tools cache and links it into .tools/bin)`,
    );
  return bin;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : '') });
    });
  });
}

/** Runs helm; throws with its output unless it exits 0. */
export async function helm(args: string[]): Promise<string> {
  const r = await run(helmBin(), args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  return r.stdout;
}

/** Runs kubectl against the control plane; throws with its stderr unless it exits 0. */
export async function kubectlOk(cp: ControlPlane, args: string[], stdin?: string): Promise<string> {
  const r = await cp.kubectl(args, stdin === undefined ? undefined : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

const rendered = new Map<string, { text: string; objects: K8sObject[] }>();

/** `helm template` of one values set (cached), release RELEASE in namespace NS. */
export async function render(name: string, extra: string[] = []): Promise<{ text: string; objects: K8sObject[] }> {
  const key = `${name} ${extra.join(' ')}`;
  let r = rendered.get(key);
  if (!r) {
    const text = await helm(['template', RELEASE, chartDir, '--namespace', NS, ...VALUES[name]!, ...extra]);
    r = { text, objects: parseManifests(text) };
    rendered.set(key, r);
  }
  return r;
}

export const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} rendered; have: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};

export const envOf = (container: any): Record<string, any> =>
  Object.fromEntries((container.env as { name: string }[]).map((e) => [e.name, e]));

/** A minimal CRD (any content) for the Prometheus Operator's monitoring.coreos.com/v1 `kind`. */
const monitoringCrd = (kind: string) =>
  JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
export const MONITORING_CRDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].map(monitoringCrd);
