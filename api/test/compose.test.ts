/**
 * docker-compose.yml (the plain-Docker-host way to run wacloud, issue #7) is checked against the code it configures:
 * the api's environment loads with the api's own config schema and names only variables the api reads; the instance
 * image the provider runs is the one the compose file builds and loads into dind; instances reach MongoDB at the fixed
 * address the compose network gives it; the dashboard's config.json lands where its nginx serves from. Security: MongoDB
 * requires authentication and both the api and the instances get credentials; dind's API needs TLS client
 * certificates that only the api and the image loader mount.
 * (No Docker Compose runs here: its images cannot be pulled on this machine.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_ENV_VARS, loadConfig } from '../src/config.js';
import { buildContainerSpec } from '../src/providers/docker/spec.js';
import { instanceDatabaseName } from '../src/providers/shared/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as any;

/** Compose's `${NAME:-default}` / `${NAME:?message}` interpolation with an empty shell environment plus `vars`. */
function interpolate(v: string, vars: Record<string, string>): string {
  return v.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    if (vars[name] !== undefined) return vars[name];
    if (op === '-') return arg ?? '';
    throw new Error(`${name} is required: ${arg}`);
  });
}

/** Values of this test's environment: a JWT secret and a MongoDB password. */
const MONGO_PW = 'c0ffee'.repeat(8);
const SECRETS = { WACLOUD_JWT_SECRET: 's'.repeat(64), WACLOUD_MONGODB_PASSWORD: MONGO_PW };

describe('docker-compose.yml', () => {
  const serviceEnv = (service: string, vars: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(compose.services[service].environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v), vars)]),
    );
  const env = (vars: Record<string, string> = SECRETS): Record<string, string> => serviceEnv('api', vars);

  it('has the api, dashboard, MongoDB and a docker:dind daemon driven through DOCKER_HOST', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['api', 'dashboard', 'mongodb', 'dind']));
    expect(compose.services.dind.image).toMatch(/^docker:\d+-dind$/);
    expect(compose.services.dind.privileged).toBe(true);
    expect(env().DOCKER_HOST).toBe('tcp://dind:2376');
  });

  it('gives the api a configuration its own schema accepts, naming only variables it reads', () => {
    const e = env();
    for (const k of Object.keys(e)) expect(API_ENV_VARS).toContain(k);
    const config = loadConfig(e);
    expect(config.provider).toBe('docker');
    expect(config.dockerReach).toBe('published');
    expect(config.dockerPublishedHost).toBe('dind');
  });

  it('refuses to start without a JWT secret, with a message saying how to make one', () => {
    expect(() => env({ WACLOUD_MONGODB_PASSWORD: 'p' })).toThrow(
      /WACLOUD_JWT_SECRET is required: set WACLOUD_JWT_SECRET to 32\+ random characters/,
    );
  });

  it('loads the instance image it builds into dind, and the api runs exactly that image', () => {
    const e = env();
    const built = interpolate(compose.services['instance-image'].image, {});
    expect(compose.services['instance-image'].build.dockerfile).toBe('instance/Dockerfile');
    expect(e.DOCKER_INSTANCE_IMAGE).toBe(built);
    expect(compose.services['instance-image-load'].entrypoint.join(' ')).toContain(
      `docker save ${compose.services['instance-image'].image} | docker --tlsverify -H tcp://dind:2376 load`,
    );
    expect(compose.services.api.depends_on['instance-image-load'].condition).toBe('service_completed_successfully');
  });

  it('lets instances inside dind reach MongoDB by the fixed address the compose network gives it', () => {
    const ip = compose.services.mongodb.networks.wacloud.ipv4_address as string;
    const subnet = compose.networks.wacloud.ipam.config[0].subnet as string;
    expect(ip.split('.').slice(0, 2).join('.')).toBe(subnet.split('.').slice(0, 2).join('.'));
    expect(env().INSTANCE_MONGODB_URI).toBe(`mongodb://wacloud:${MONGO_PW}@${ip}:27017/?authSource=admin`);
  });

  it('lets instances inside dind deliver their events to the api by its fixed address (API_EVENTS_URL)', () => {
    const ip = compose.services.api.networks.wacloud.ipv4_address as string;
    const subnet = compose.networks.wacloud.ipam.config[0].subnet as string;
    expect(ip.split('.').slice(0, 2).join('.')).toBe(subnet.split('.').slice(0, 2).join('.'));
    expect(ip).not.toBe(compose.services.mongodb.networks.wacloud.ipv4_address);
    expect(loadConfig(env()).apiEventsUrl).toBe(`http://${ip}:3000`);
  });

  it('runs MongoDB with authentication; the api holds its root user and gives each instance a user of its own', () => {
    const mongoEnv = compose.services.mongodb.environment as Record<string, string>;
    expect(interpolate(mongoEnv.MONGO_INITDB_ROOT_PASSWORD!, { WACLOUD_MONGODB_PASSWORD: MONGO_PW })).toBe(MONGO_PW);
    expect(() => interpolate(mongoEnv.MONGO_INITDB_ROOT_PASSWORD!, {})).toThrow(
      /WACLOUD_MONGODB_PASSWORD is required: set WACLOUD_MONGODB_PASSWORD/,
    );
    const root = `${mongoEnv.MONGO_INITDB_ROOT_USERNAME}:${MONGO_PW}@`;
    const config = loadConfig(env());
    expect(config.mongodbUri).toContain(root);
    expect(config.instanceMongodbUri).toContain(root);
    expect(config.instanceDatabaseUsers).toBe('mongodb');
  });

  it("serves the dashboard's config.json where its nginx serves from, pointing at the published api", () => {
    const nginx = readFileSync(path.join(root, 'dashboard/nginx.conf'), 'utf8');
    const docroot = /root (\S+);/.exec(nginx)![1];
    const mount = compose.services.dashboard.configs[0];
    expect(mount.target).toBe(`${docroot}/config.json`);
    // A file (Compose refuses inline `content` for a read_only service).
    const config = JSON.parse(readFileSync(path.join(root, compose.configs[mount.source].file), 'utf8')) as { apiBaseUrl: string };
    const apiPort = (compose.services.api.ports[0] as string).split(':')[0];
    expect(config.apiBaseUrl).toBe(`http://localhost:${apiPort}`);
    expect(env().CORS_ORIGINS).toBe(`http://localhost:${(compose.services.dashboard.ports[0] as string).split(':')[0]}`);
  });

  it('runs MongoDB with authentication: root credentials from WACLOUD_MONGODB_PASSWORD, which it refuses to start without', () => {
    const m = serviceEnv('mongodb', SECRETS);
    expect(m.MONGO_INITDB_ROOT_USERNAME).toBe('wacloud');
    expect(m.MONGO_INITDB_ROOT_PASSWORD).toBe(SECRETS.WACLOUD_MONGODB_PASSWORD);
    expect(() => serviceEnv('mongodb', { WACLOUD_JWT_SECRET: 's'.repeat(64) })).toThrow(
      /WACLOUD_MONGODB_PASSWORD is required: set WACLOUD_MONGODB_PASSWORD to random letters and digits/,
    );
    // The api and every instance container (through the docker provider) connect with those credentials.
    const config = loadConfig(env());
    const creds = `wacloud:${SECRETS.WACLOUD_MONGODB_PASSWORD}@`;
    expect(config.mongodbUri).toContain(creds);
    const spec = buildContainerSpec(
      { id: 'i-composeaaaaa', owner: 'u', name: 'x', engine: 'webjs', suspended: false },
      { image: 'i', network: config.dockerNetwork, reach: config.dockerReach, mongoUri: config.instanceMongodbUri! },
      'k'.repeat(43),
    );
    expect(spec.Env).toContain(
      `MONGODB_URI=mongodb://${creds}172.28.0.10:27017/${instanceDatabaseName('i-composeaaaaa')}?authSource=admin`,
    );
  });

  it("keeps dind's API behind TLS client certificates that only the api and the image loader hold", () => {
    const dind = compose.services.dind;
    expect(dind.environment.DOCKER_TLS_CERTDIR).toBe('/certs');
    // The server certificate names the host the api dials.
    expect(dind.environment.DOCKER_TLS_SAN).toBe('DNS:dind');
    const clientVolume = (dind.volumes as string[]).find((v) => v.endsWith(':/certs/client'))!.split(':')[0];
    const e = env();
    expect(e.DOCKER_HOST).toBe('tcp://dind:2376');
    expect(loadConfig(e).dockerCertPath).toBe('/certs/client');
    expect(compose.services.api.volumes).toContain(`${clientVolume}:/certs/client:ro`);
    // Nobody else mounts the certificates; no port of dind is published; no plain-TCP API.
    const holders = Object.entries(compose.services as Record<string, { volumes?: string[] }>)
      .filter(([, svc]) => (svc.volumes ?? []).some((v) => v.startsWith(`${clientVolume}:`) || v.startsWith('dind-certs-ca:')))
      .map(([name]) => name)
      .sort();
    expect(holders).toEqual(['api', 'dind', 'instance-image-load']);
    expect(dind.ports).toBeUndefined();
    expect(JSON.stringify(compose)).not.toContain(':2375');
  });
});
