/** The env-config loader: camelCase keys, defaults, freezing, secret files, and one ConfigError listing every problem. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  camelCase,
  configVariables,
  envBoolean,
  envDurationMs,
  envList,
  envLogLevel,
  envMongoUri,
  envPort,
  loadConfig,
  type CamelCase,
} from '../src/index.js';

const shape = {
  /** Port of the HTTP server. */
  PORT: envPort.default(3000),
  MONGODB_URI: envMongoUri,
  INTERNAL_API_KEY: z.string().min(16),
  K8S_NAMESPACE: z.string().default('wacloud'),
  LOG_LEVEL: envLogLevel,
  ENGINE: z.enum(['webjs', 'simulated']).default('simulated'),
  SIMNET_URL: z.url().optional(),
  AUTO_START: envBoolean.default(true),
  CORS_ORIGINS: envList,
  PROBE_TIMEOUT_MS: envDurationMs.default(2000),
};
const base = { MONGODB_URI: 'mongodb://db:27017/x', INTERNAL_API_KEY: 'k'.repeat(16) };
const dir = mkdtempSync(path.join(tmpdir(), 'kit-config-'));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

test('camelCase keys at run time and in the type', () => {
  expect(camelCase('MONGODB_URI')).toBe('mongodbUri');
  expect(camelCase('INTERNAL_API_KEY')).toBe('internalApiKey');
  expect(camelCase('LOG_LEVEL')).toBe('logLevel');
  expect(camelCase('K8S_NAMESPACE')).toBe('k8sNamespace');
  expect(camelCase('PORT')).toBe('port');
  const t: CamelCase<'K8S_NAMESPACE'> = 'k8sNamespace';
  expect(t).toBe('k8sNamespace');
});

test('reads, fills defaults, converts keys, types the result', () => {
  const c = loadConfig(shape, { env: { ...base, CORS_ORIGINS: 'a, b', PROBE_TIMEOUT_MS: '5s', UNRELATED: 'x' } });
  expect(c).toEqual({
    port: 3000,
    mongodbUri: 'mongodb://db:27017/x',
    internalApiKey: 'k'.repeat(16),
    k8sNamespace: 'wacloud',
    logLevel: 'info',
    engine: 'simulated',
    simnetUrl: undefined,
    autoStart: true,
    corsOrigins: ['a', 'b'],
    probeTimeoutMs: 5000,
  });
  // Type-level: these assignments compile only if the keys and types are right.
  const port: number = c.port;
  const level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = c.logLevel;
  const simnet: string | undefined = c.simnetUrl;
  const origins: readonly string[] = c.corsOrigins;
  expect([port, level, simnet, origins.length]).toEqual([3000, 'info', undefined, 2]);
  // @ts-expect-error env names are not keys of the result
  expect(c.PORT).toBeUndefined();
});

test('the result is deep-frozen', () => {
  const c = loadConfig(
    {
      LIST: envList,
      JSON_VALUE: z
        .string()
        .default('{"a":{"b":1}}')
        .transform((s) => JSON.parse(s) as { a: { b: number } }),
    },
    { env: { LIST: 'x,y' } },
  );
  expect(Object.isFrozen(c)).toBe(true);
  expect(Object.isFrozen(c.list)).toBe(true);
  expect(Object.isFrozen(c.jsonValue.a)).toBe(true);
  expect(() => (c.list as string[]).push('z')).toThrow(TypeError);
});

test('reads process.env by default', () => {
  process.env.KIT_TEST_SOME_VALUE = '42';
  try {
    expect(loadConfig({ KIT_TEST_SOME_VALUE: envPort }).kitTestSomeValue).toBe(42);
  } finally {
    delete process.env.KIT_TEST_SOME_VALUE;
  }
});

test('collects every problem into one ConfigError whose message lists them all', () => {
  let error: ConfigError | undefined;
  try {
    loadConfig(shape, { env: { PORT: '70000', LOG_LEVEL: 'loud', INTERNAL_API_KEY: 'short' }, service: 'api' });
  } catch (err) {
    error = err as ConfigError;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect(error!.name).toBe('ConfigError');
  expect(error!.problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'MONGODB_URI', 'INTERNAL_API_KEY', 'LOG_LEVEL']);
  expect(error!.problems).toContain('MONGODB_URI: required');
  expect(error!.message.split('\n')[0]).toBe('invalid api configuration:');
  for (const p of error!.problems) expect(error!.message).toContain(`  ${p}`);
});

test('a problem inside a list names the item', () => {
  const hosts = envList.pipe(z.array(z.string().regex(/^\S+:\S+$/, 'must be name:address')));
  expect(problems(() => loadConfig({ EXTRA_HOSTS: hosts }, { env: { EXTRA_HOSTS: 'a:1,b' } }))).toEqual([
    'EXTRA_HOSTS: item 1: must be name:address',
  ]);
});

describe('secret files', () => {
  const secretShape = { JWT_SECRET: z.string().min(32, 'must be at least 32 characters'), OTHER_KEY: z.string().optional() };
  const opts = { secretFiles: ['JWT_SECRET', 'OTHER_KEY'] };

  test('<NAME>_FILE provides the value, trailing newline trimmed, validated by the field', () => {
    const file = path.join(dir, 'jwt');
    writeFileSync(file, `${'s'.repeat(32)}\n`);
    const c = loadConfig(secretShape, { ...opts, env: { JWT_SECRET_FILE: file } });
    expect(c.jwtSecret).toBe('s'.repeat(32));
    expect(c.otherKey).toBeUndefined();
    writeFileSync(file, 'short\n');
    expect(problems(() => loadConfig(secretShape, { ...opts, env: { JWT_SECRET_FILE: file } }))).toEqual([
      'JWT_SECRET: must be at least 32 characters',
    ]);
  });

  test('the variable itself still works', () => {
    expect(loadConfig(secretShape, { ...opts, env: { JWT_SECRET: 'v'.repeat(32) } }).jwtSecret).toBe('v'.repeat(32));
  });

  test('both set, an unreadable file, or neither set are problems', () => {
    const file = path.join(dir, 'other');
    writeFileSync(file, 'x');
    const env = { JWT_SECRET: 'v'.repeat(32), JWT_SECRET_FILE: file, OTHER_KEY_FILE: path.join(dir, 'missing') };
    expect(problems(() => loadConfig(secretShape, { ...opts, env }))).toEqual([
      'JWT_SECRET: set either JWT_SECRET or JWT_SECRET_FILE, not both',
      `OTHER_KEY_FILE: cannot read ${path.join(dir, 'missing')}: ENOENT`,
    ]);
    expect(problems(() => loadConfig(secretShape, { ...opts, env: {} }))).toEqual([
      'JWT_SECRET: required; set JWT_SECRET or JWT_SECRET_FILE',
    ]);
  });

  test('configVariables lists the _FILE twins', () => {
    expect(configVariables(secretShape, ['JWT_SECRET'])).toEqual(['JWT_SECRET', 'OTHER_KEY', 'JWT_SECRET_FILE']);
  });
});

describe('check: rules across variables', () => {
  const check = (c: { engine: string; simnetUrl?: string }) =>
    c.engine === 'simulated' && !c.simnetUrl ? ['SIMNET_URL: required when ENGINE=simulated'] : [];

  test('runs on the camelCase result, also when ENGINE is left at its default', () => {
    expect(problems(() => loadConfig(shape, { env: base, check }))).toEqual(['SIMNET_URL: required when ENGINE=simulated']);
    expect(loadConfig(shape, { env: { ...base, ENGINE: 'webjs' }, check }).engine).toBe('webjs');
    expect(loadConfig(shape, { env: { ...base, SIMNET_URL: 'http://simnet:7300' }, check }).simnetUrl).toBe('http://simnet:7300');
  });

  test('the config it gets is already frozen', () => {
    let frozen = false;
    loadConfig(shape, { env: base, check: (c) => ((frozen = Object.isFrozen(c)), []) });
    expect(frozen).toBe(true);
  });
});
