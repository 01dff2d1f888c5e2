/**
 * The seccomp profile of instance containers: Chromium's profile from the instance workspace
 * (`instance/seccomp/chromium.json`: what Docker's default profile denies, except the clone / unshare / chroot
 * Chromium's user-namespace sandbox needs), so the browser can keep its sandbox (docs/security.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProviderError } from '../provider.js';

/**
 * Where the profile is found: beside the api in the repository and in the api image (`/app/instance/seccomp/`), both
 * four levels above this module (`api/{src,dist}/providers/docker/`).
 */
export const DEFAULT_SECCOMP_PROFILE_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../instance/seccomp/chromium.json',
);

/**
 * The profile at `file` as compact JSON text (what `HostConfig.SecurityOpt` `seccomp=<json>` takes).
 * @throws ProviderError `unavailable` when the file cannot be read or is not a seccomp profile (no `defaultAction`).
 */
export function loadSeccompProfile(file: string = DEFAULT_SECCOMP_PROFILE_PATH): string {
  let profile: { defaultAction?: unknown };
  try {
    profile = JSON.parse(readFileSync(file, 'utf8')) as { defaultAction?: unknown };
  } catch (err) {
    throw new ProviderError('unavailable', `the instances' seccomp profile ${file} cannot be read: ${(err as Error).message}`);
  }
  if (typeof profile?.defaultAction !== 'string') {
    throw new ProviderError('unavailable', `the instances' seccomp profile ${file} has no defaultAction: not a seccomp profile`);
  }
  return JSON.stringify(profile);
}
