/**
 * Two tables the MongoDB driver's dependencies build when they are required, loaded instead at their first use
 * (instance/README.md, "Memory"; ~3 MiB of the idle instance's RSS, both together):
 *
 * - `tr46`'s Unicode mapping table (whatwg-url requires it; mongodb-connection-string-url parses the URI with
 *   whatwg-url): only `toASCII`/`toUnicode` of a special-scheme URL's host use it, and a `mongodb://` URI's host is
 *   opaque, so the instance never calls it.
 * - `@mongodb-js/saslprep`'s code-point bitfields (the driver's SCRAM code requires it): only SCRAM-SHA-256 uses it, to
 *   prepare the password at each connection — so on MongoDB's own users (`kit/src/mongo-users.ts`) it loads at the
 *   first connection as before, and with FerretDB on PostgreSQL (PLAIN, `kit/src/ferretdb-pg-users.ts`) or without
 *   authentication never.
 *
 * Both are stand-ins in `require`'s module cache (kit's `lazy-require.ts`) put there before the driver is loaded (import
 * this module before `mongodb`): the driver's `require` gets the stand-in, whose functions load the real module on
 * their first call and delegate to it. Where a package cannot be resolved as the lock installs it, nothing is put in.
 */
import { resolveFrom, standIn } from '@wacloud/kit';

type Saslprep = ((input: string, opts?: { allowUnassigned?: boolean }) => string) & { saslprep?: unknown; default?: unknown };
type Tr46 = { toASCII(domain: string, options?: object): string | null; toUnicode(domain: string, options?: object): unknown };

const driver = resolveFrom(import.meta.url, 'mongodb');
const saslprepFile = resolveFrom(driver, '@mongodb-js/saslprep');
if (saslprepFile)
  standIn(saslprepFile, (load) => {
    const saslprep: Saslprep = (input, opts) => (load() as Saslprep)(input, opts);
    saslprep.saslprep = saslprep;
    saslprep.default = saslprep;
    return saslprep;
  });
const tr46File = resolveFrom(resolveFrom(resolveFrom(driver, 'mongodb-connection-string-url'), 'whatwg-url'), 'tr46');
if (tr46File)
  standIn(tr46File, (load) => ({
    toASCII: (domain: string, options?: object) => (load() as Tr46).toASCII(domain, options),
    toUnicode: (domain: string, options?: object) => (load() as Tr46).toUnicode(domain, options),
  }));
