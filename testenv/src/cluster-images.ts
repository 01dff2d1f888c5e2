/**
 * Images of the test cluster's container runtime (containerd, namespace `k8s.io`): never pulled, always imported —
 * images built on the test dockerd (`docker save` → `ctr images import`) and single-binary images made here from a
 * static executable (the pod sandbox's `pause`, built by scripts/tools-node.sh).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sh } from './cluster-host.js';

/** The sandbox (pause) image of the test cluster. */
export const PAUSE_IMAGE = 'docker.io/wacloud/pause:test';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/**
 * Writes a `docker save`-format archive of a one-layer image holding `binary` as `/<name>` with that as its
 * entrypoint, to `out`.
 * @param tag repository:tag of the image, e.g. `wacloud/pause:test`.
 * @throws Error from tar.
 */
export async function singleBinaryImage(binary: string, name: string, tag: string, out: string, user = '65535:65535'): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-image-'));
  try {
    const root = path.join(dir, 'root');
    await sh('mkdir', ['-p', root]);
    await sh('cp', [binary, path.join(root, name)]);
    await sh('chmod', ['0755', path.join(root, name)]);
    await sh('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', path.join(dir, 'layer.tar'), name]);
    const layer = sha256(readFileSync(path.join(dir, 'layer.tar')));
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: [`/${name}`], User: user },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layer}`] },
    });
    const configName = `${sha256(config)}.json`;
    writeFileSync(path.join(dir, configName), config);
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['layer.tar'] }]));
    await sh('tar', ['-C', dir, '-cf', out, 'manifest.json', configName, 'layer.tar']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Imports an image archive (docker save or OCI layout tar) into containerd's `k8s.io` namespace.
 * @throws Error with ctr's stderr.
 */
export async function importImageArchive(containerdSocket: string, archive: string): Promise<void> {
  await sh('ctr', ['-a', containerdSocket, '-n', 'k8s.io', 'images', 'import', archive], 600_000);
}

/**
 * Copies images from a Docker engine into containerd: `docker save` to a temp archive, then import.
 * @param dockerHost `unix:///…/docker.sock` of the engine.
 * @param refs image references as the engine names them (e.g. `wacloud/api:test`).
 * @throws Error when an image is missing in the engine or the import fails.
 */
export async function copyImagesFromDocker(dockerHost: string, containerdSocket: string, refs: string[]): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-images-'));
  try {
    const tar = path.join(dir, 'images.tar');
    await sh('/usr/bin/docker', ['-H', dockerHost, 'save', '-o', tar, ...refs], 600_000);
    await importImageArchive(containerdSocket, tar);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
