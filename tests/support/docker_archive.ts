/**
 * Builds Docker-format archives from the testdata store, as docker save (24 and older), podman
 * save and skopeo docker-archive: lay them out, for import tests.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { end, entry, join } from "./tar_builder.ts";

const STORE = new URL("../../testdata/store/", import.meta.url).pathname;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function blob(digest: string): Promise<Uint8Array> {
  const [alg, hex] = digest.split(":");
  return await Deno.readFile(`${STORE}blobs/${alg}/${hex}`);
}

/** An image of the testdata store: its config and layer bytes. */
export interface SourceImage {
  config: Uint8Array;
  layers: Uint8Array[];
}

/** Reads the config and layers of a single-manifest image of testdata/store. */
export async function sourceImage(name = "docker.io/library/hello:oci"): Promise<SourceImage> {
  const index = JSON.parse(await Deno.readTextFile(`${STORE}index.json`));
  const target = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["io.containerd.image.name"] === name
  );
  const manifest = JSON.parse(new TextDecoder().decode(await blob(target.digest)));
  return {
    config: await blob(manifest.config.digest),
    layers: await Promise.all(manifest.layers.map((l: { digest: string }) => blob(l.digest))),
  };
}

/** Layout styles. */
export type DockerStyle = "docker24" | "podman" | "crane-gz";

/**
 * A Docker-format archive of the images, each under its RepoTags:
 * - docker24: `<id>/layer.tar`, `<id>/json`, `<id>/VERSION`, `<confighex>.json`, a layer shared
 *   with an earlier image stored once and linked (`../<id>/layer.tar`), `repositories`;
 * - podman: `<diffid>.tar` layers and `<confighex>.json`;
 * - crane-gz: `sha256:<confighex>` config and gzipped `<hex>.tar.gz` layers.
 */
export function dockerArchive(
  images: { image: SourceImage; repoTags: string[] }[],
  style: DockerStyle = "docker24",
): Uint8Array {
  const parts: Uint8Array[][] = [];
  const written = new Map<string, string>(); // layer content hash -> path
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const { image, repoTags } of images) {
    const configHex = sha256(image.config);
    const configName = style === "crane-gz" ? `sha256:${configHex}` : `${configHex}.json`;
    if (!written.has(configName)) {
      parts.push(entry({ name: configName, body: image.config }));
      written.set(configName, configName);
    }
    const layers: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      const hex = sha256(layer);
      if (style === "docker24") {
        const id = sha256(new TextEncoder().encode(`${configHex}/${i}`));
        const path = `${id}/layer.tar`;
        parts.push(entry({ name: `${id}/`, type: "5", mode: 0o755 }));
        const earlier = written.get(hex);
        if (earlier !== undefined) {
          parts.push(entry({ name: path, type: "2", linkname: `../${earlier}` }));
        } else {
          parts.push(entry({ name: path, body: layer }));
          written.set(hex, path);
        }
        parts.push(entry({ name: `${id}/VERSION`, body: "1.0" }));
        parts.push(entry({ name: `${id}/json`, body: `{"id":"${id}"}` }));
        layers.push(path);
      } else if (style === "podman") {
        const path = `${hex}.tar`;
        if (!written.has(path)) parts.push(entry({ name: path, body: layer }));
        written.set(path, path);
        layers.push(path);
      } else {
        const gz = new Uint8Array(gzipSync(layer));
        const path = `${sha256(gz)}.tar.gz`;
        if (!written.has(path)) parts.push(entry({ name: path, body: gz }));
        written.set(path, path);
        layers.push(path);
      }
    }
    manifest.push({ Config: configName, RepoTags: repoTags, Layers: layers });
  }
  parts.push(entry({ name: "manifest.json", body: JSON.stringify(manifest) }));
  if (style === "docker24") parts.push(entry({ name: "repositories", body: "{}" }));
  return join([...parts, end()]);
}
