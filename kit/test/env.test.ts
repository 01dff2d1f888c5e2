/** The shared zod pieces for environment variables: what each accepts, what it outputs, what it rejects. */
import { z } from 'zod';
import { envBoolean, envDurationMs, envList, envLogLevel, envMongoUri, envPort, envSizeBytes } from '../src/index.js';

const ok = <T>(schema: z.ZodType<T>, v: string | undefined): T => schema.parse(v);
const fails = (schema: z.ZodType, v: string | undefined): boolean => !schema.safeParse(v).success;

test('envBoolean: true/false, 1/0, yes/no, any case', () => {
  for (const v of ['true', '1', 'yes', 'TRUE', ' Yes ']) expect(ok(envBoolean, v)).toBe(true);
  for (const v of ['false', '0', 'no', 'False']) expect(ok(envBoolean, v)).toBe(false);
  for (const v of ['', 'on', '2', 'y']) expect(fails(envBoolean, v)).toBe(true);
  expect(ok(envBoolean.default(true), undefined)).toBe(true);
});

test('envPort: integers 0–65535', () => {
  expect(ok(envPort, '0')).toBe(0);
  expect(ok(envPort, '8080')).toBe(8080);
  expect(ok(envPort, '65535')).toBe(65535);
  for (const v of ['', '-1', '65536', '80.5', 'http', '0x50']) expect(fails(envPort, v)).toBe(true);
  expect(ok(envPort.default(3000), undefined)).toBe(3000);
});

test('envDurationMs: plain milliseconds or ms/s/m/h', () => {
  expect(ok(envDurationMs, '0')).toBe(0);
  expect(ok(envDurationMs, '2000')).toBe(2000);
  expect(ok(envDurationMs, '500ms')).toBe(500);
  expect(ok(envDurationMs, '30s')).toBe(30_000);
  expect(ok(envDurationMs, '1.5s')).toBe(1500);
  expect(ok(envDurationMs, '5m')).toBe(300_000);
  expect(ok(envDurationMs, '1h')).toBe(3_600_000);
  expect(ok(envDurationMs, '30S')).toBe(30_000);
  for (const v of ['', '-5', '1.5', '5d', 's', '10 sec']) expect(fails(envDurationMs, v)).toBe(true);
  expect(fails(envDurationMs.pipe(z.number().min(1)), '0')).toBe(true);
});

test('envSizeBytes: positive bytes or Docker/Kubernetes binary units', () => {
  expect(ok(envSizeBytes, '536870912')).toBe(536870912);
  expect(ok(envSizeBytes, '512k')).toBe(512 * 1024);
  expect(ok(envSizeBytes, '512m')).toBe(512 * 1024 ** 2);
  expect(ok(envSizeBytes, '512MB')).toBe(512 * 1024 ** 2);
  expect(ok(envSizeBytes, '2g')).toBe(2 * 1024 ** 3);
  expect(ok(envSizeBytes, '1536Mi')).toBe(1536 * 1024 ** 2);
  expect(ok(envSizeBytes, '2Gi')).toBe(2 * 1024 ** 3);
  expect(ok(envSizeBytes, '1.5g')).toBe(1.5 * 1024 ** 3);
  expect(ok(envSizeBytes, '100b')).toBe(100);
  for (const v of ['', '0', '0m', '-1', '1.5', '2x', 'g', '2 g']) expect(fails(envSizeBytes, v)).toBe(true);
  const orZero = z
    .literal('0')
    .transform(() => 0)
    .or(envSizeBytes);
  expect(orZero.parse('0')).toBe(0);
  expect(orZero.parse('2g')).toBe(2 * 1024 ** 3);
});

test('envLogLevel: pino levels, default info', () => {
  expect(ok(envLogLevel, undefined)).toBe('info');
  expect(ok(envLogLevel, 'silent')).toBe('silent');
  expect(fails(envLogLevel, 'verbose')).toBe(true);
});

test('envList: comma-separated, trimmed, empties dropped, unset is []', () => {
  expect(ok(envList, 'a, b ,,c,')).toEqual(['a', 'b', 'c']);
  expect(ok(envList, '')).toEqual([]);
  expect(ok(envList, undefined)).toEqual([]);
  const hosts = envList.pipe(z.array(z.string().regex(/^[a-z]+:\S+$/)));
  expect(hosts.parse('a:1,b:2')).toEqual(['a:1', 'b:2']);
  expect(hosts.safeParse('a:1,b').success).toBe(false);
});

test('envMongoUri: mongodb:// or mongodb+srv://', () => {
  expect(ok(envMongoUri, 'mongodb://db:27017/x')).toBe('mongodb://db:27017/x');
  expect(ok(envMongoUri, 'mongodb+srv://u:p@cluster.example/x')).toBe('mongodb+srv://u:p@cluster.example/x');
  for (const v of ['', 'mongodb://', 'postgres://db/x', 'db:27017']) expect(fails(envMongoUri, v)).toBe(true);
});
