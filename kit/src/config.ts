/**
 * One way every wacloud service reads its configuration: a zod shape whose keys are the environment variable names
 * (each field's docstring documents its variable), validated once at start-up, defaults filled, keys turned into
 * camelCase (`MONGODB_URI` → `mongodbUri`) and the result deep-frozen. Every problem is collected first, so start-up
 * fails with one {@link ConfigError} that lists them all.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** `MONGODB_URI` → `mongodbUri`, `K8S_NAMESPACE` → `k8sNamespace` (the type-level twin of {@link camelCase}). */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>;

/** An object type with every key turned into camelCase; optional keys stay optional. */
export type CamelCaseKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** The configuration {@link loadConfig} returns for `shape`: camelCase keys, output types of the fields. */
export type ConfigOf<S extends z.ZodRawShape> = Readonly<CamelCaseKeys<z.output<z.ZodObject<S>>>>;

/** `MONGODB_URI` → `mongodbUri`: lower-case, each `_x` becomes `X`. */
export function camelCase<S extends string>(name: S): CamelCase<S> {
  const [first, ...rest] = name.toLowerCase().split('_');
  return (first! + rest.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')) as CamelCase<S>;
}

/**
 * Thrown by {@link loadConfig}: `problems` holds one `"VAR_NAME: reason"` per problem, and the message lists them
 * all, one per line.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly problems: string[],
    service?: string,
  ) {
    super(`invalid ${service ? `${service} ` : ''}configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export interface LoadConfigOptions<C> {
  /** Where the variables come from; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Service name for the error message (`invalid api configuration: …`). */
  service?: string;
  /**
   * Variables that may also be given as a file (a mounted Secret): when `<NAME>_FILE` is set, the file's content with
   * its trailing newline trimmed is the value of `<NAME>` and is validated by `<NAME>`'s field. Setting both
   * `<NAME>` and `<NAME>_FILE`, or naming a file that cannot be read, is a problem. The `_FILE` variables need not be
   * in the shape.
   */
  secretFiles?: readonly string[];
  /**
   * Rules across variables, run on the camelCase configuration once every field is valid; returns problems as
   * `"VAR_NAME: reason"` (e.g. `SIMNET_URL: required when ENGINE=simulated`), `[]` when none.
   */
  check?: (config: C) => string[];
}

/**
 * Reads the configuration described by `shape` (keys: environment variable names; values: zod schemas of the raw
 * string value — see the `env*` pieces) from `options.env ?? process.env`.
 * @returns the camelCase configuration, deep-frozen, e.g. `{ mongodbUri: string, port: number, … }`.
 * @throws ConfigError listing every invalid or missing variable, every secret-file problem and every `check` problem.
 * @example
 *   const config = loadConfig({
 *     PORT: envPort.default(3000), // with a docstring saying what the variable is for

 *     MONGODB_URI: envMongoUri,
 *     JWT_SECRET: z.string().min(32),
 *   }, { service: 'api', secretFiles: ['JWT_SECRET'] });
 *   config.port; // number
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, options: LoadConfigOptions<ConfigOf<S>> = {}): ConfigOf<S> {
  const source = options.env ?? process.env;
  const env: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) env[name] = source[name];
  const problems: string[] = [];
  const badFiles = new Set<string>();

  for (const name of options.secretFiles ?? []) {
    const file = source[`${name}_FILE`];
    if (file === undefined) continue;
    if (source[name] !== undefined) {
      problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
      badFiles.add(name);
      continue;
    }
    try {
      env[name] = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      badFiles.add(name);
    }
  }

  const fileBacked = new Set(options.secretFiles ?? []);
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [name, ...inner] = issue.path.map(String);
      if (name === undefined) problems.push(`env: ${issue.message}`);
      else if (badFiles.has(name)) continue;
      else if (env[name] === undefined && inner.length === 0 && issue.code === 'invalid_type') {
        problems.push(`${name}: required${fileBacked.has(name) ? `; set ${name} or ${name}_FILE` : ''}`);
      } else problems.push(`${name}: ${inner.length ? `item ${inner.join('.')}: ` : ''}${issue.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems, options.service);

  const config = deepFreeze(Object.fromEntries(Object.entries(parsed.data!).map(([k, v]) => [camelCase(k), v]))) as ConfigOf<S>;
  const crossField = options.check?.(config) ?? [];
  if (crossField.length) throw new ConfigError(crossField, options.service);
  return config;
}

/** Every variable `shape` reads, including the `<NAME>_FILE` twins of `secretFiles` (for checks of deployment files). */
export function configVariables(shape: z.ZodRawShape, secretFiles: readonly string[] = []): readonly string[] {
  return Object.freeze([...new Set([...Object.keys(shape), ...secretFiles.map((n) => `${n}_FILE`)])]);
}

/** Freezes `value` and every plain object and array inside it; returns `value`. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
  }
  return value;
}
