/** The logger factory: JSON lines with service and ISO time, and every path of REDACT_PATHS really redacted. */
import { Writable } from 'node:stream';
import { REDACT_CENSOR, REDACT_PATHS, createLogger } from '../src/index.js';

/** A destination that keeps the lines written to it. */
function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** `a.b["c-d"]` → ['a', 'b', 'c-d']; `*` becomes `parent`. */
function segments(p: string): string[] {
  return [...p.matchAll(/([^.[\]"]+)|\["([^"]+)"\]/g)].map((m) => ((m[1] ?? m[2]!) === '*' ? 'parent' : (m[1] ?? m[2]!)));
}

function nest(keys: string[], value: unknown): Record<string, unknown> {
  return keys.reduceRight<unknown>((acc, k) => ({ [k]: acc }), value) as Record<string, unknown>;
}

function get(obj: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

test('lines carry service, level, ISO time and msg', () => {
  const out = sink();
  createLogger({ service: 'wacloud-test', level: 'info', destination: out.stream }).info({ n: 1 }, 'hello');
  const [line] = out.lines();
  expect(line).toMatchObject({ service: 'wacloud-test', level: 30, n: 1, msg: 'hello' });
  expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
});

test('the level filters lines', () => {
  const out = sink();
  const log = createLogger({ service: 's', level: 'warn', destination: out.stream });
  log.info('no');
  log.warn('yes');
  expect(out.lines().map((l) => l.msg)).toEqual(['yes']);
});

test('covers the credentials every service logged redacted before', () => {
  for (const p of [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-internal-key"]',
    'headers.authorization',
    'authorization',
    'password',
    '*.password',
    'token',
    '*.token',
    'secret',
    '*.secret',
    'internalKey',
    '*.internalKey',
    'internalApiKey',
    '*.internalApiKey',
    'accessToken',
    '*.accessToken',
  ])
    expect(REDACT_PATHS).toContain(p);
});

test.each([...REDACT_PATHS])('redacts %s', (p) => {
  const out = sink();
  const keys = segments(p);
  createLogger({ service: 's', level: 'info', destination: out.stream }).info({ ...nest(keys, 'the-secret-value'), keep: 'visible' }, 'm');
  const [line] = out.lines();
  expect(get(line, keys)).toBe(REDACT_CENSOR);
  expect(line!.keep).toBe('visible');
  expect(JSON.stringify(line)).not.toContain('the-secret-value');
});

test('child loggers redact too', () => {
  const out = sink();
  createLogger({ service: 's', level: 'info', destination: out.stream })
    .child({ component: 'c' })
    .info({ user: { password: 'p4ss' } }, 'm');
  expect(out.lines()[0]).toMatchObject({ component: 'c', user: { password: REDACT_CENSOR } });
});
