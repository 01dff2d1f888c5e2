/** The CRD YAML (the one source) and the TypeScript mirror agree. Apiserver behaviour is tested by the operator. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import * as crds from '../src/index.js';

const crd = parse(readFileSync(crds.CRD_YAML_PATH, 'utf8'));
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema;

test('names', () => {
  expect(crd.metadata.name).toBe(crds.CRD_NAME);
  expect(crd.spec.group).toBe(crds.GROUP);
  expect(version.name).toBe(crds.VERSION);
  expect(crd.spec.names).toMatchObject({
    kind: crds.KIND,
    plural: crds.PLURAL,
    singular: crds.SINGULAR,
    shortNames: [...crds.SHORT_NAMES],
  });
  expect(version.subresources).toEqual({ status: {} });
});

test('enums mirror the TypeScript constants', () => {
  expect(schema.properties.spec.properties.engine.enum).toEqual([...crds.ENGINES]);
  expect(schema.properties.status.properties.phase.enum).toEqual([...crds.PHASES]);
  expect(schema.properties.status.properties.session.properties.state.enum).toEqual([...crds.SESSION_STATES]);
  expect(schema.properties.spec.properties.webhook.properties.events.items.enum).toEqual([...crds.WEBHOOK_EVENTS]);
});

test('printer columns: Owner, Phase, Session, Suspended, Age', () => {
  expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['Owner', 'Phase', 'Session', 'Suspended', 'Age']);
});

test('every schema property carries a description or is a plain leaf of a described object', () => {
  const undocumented: string[] = [];
  const walk = (s: { type?: string; description?: string; properties?: Record<string, unknown> }, p: string, parentDescribed: boolean) => {
    if (!s.description && !parentDescribed && p.split('.').length <= 3) undocumented.push(p);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v as typeof s, `${p}.${k}`, Boolean(s.description));
  };
  walk(schema.properties.spec, 'spec', true);
  walk(schema.properties.status, 'status', true);
  expect(undocumented).toEqual([]);
});

test('examples are WhatsAppInstances with the required fields', () => {
  const files = readdirSync(crds.EXAMPLES_DIR).filter((f) => f.endsWith('.yaml'));
  expect(files.length).toBeGreaterThanOrEqual(2);
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(path.join(crds.EXAMPLES_DIR, f), 'utf8'))) {
      const o = doc.toJS() as crds.WhatsAppInstance;
      expect(o.apiVersion).toBe(crds.API_VERSION);
      expect(o.kind).toBe(crds.KIND);
      expect(typeof o.spec.owner).toBe('string');
    }
  }
});
