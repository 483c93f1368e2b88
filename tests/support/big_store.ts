/**
 * A store holding one image with a large layer of zeros, made in a temp dir in a few hundred
 * milliseconds: the layer file is sparse, and its digest is computed from memory.
 */
import { createHash } from "node:crypto";

/** A temporary store with one large image. */
export interface BigStore {
  /** The store directory. */
  dir: string;
  /** The image's name. */
  name: string;
  /** The layer's size in bytes. */
  layerSize: number;
  /** Removes the store. */
  remove(): Promise<void>;
}

/** Creates a store whose image `example.com/big:1` has one layer of `layerSize` zero bytes. */
export async function makeBigStore(layerSize = 1024 * 1024 * 1024): Promise<BigStore> {
  const dir = await Deno.makeTempDir({ prefix: "ocipack-big-" });
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const hash = createHash("sha256");
  const zeros = new Uint8Array(1024 * 1024);
  for (let left = layerSize; left > 0; left -= zeros.length) {
    hash.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }
  const layer = {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: `sha256:${hash.digest("hex")}`,
    size: layerSize,
  };
  const file = await Deno.open(`${dir}/blobs/sha256/${layer.digest.slice(7)}`, {
    write: true,
    create: true,
  });
  await file.truncate(layerSize);
  file.close();
  const put = async (value: unknown, mediaType: string) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const config = await put(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } },
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = await put(
    {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [layer],
    },
    "application/vnd.oci.image.manifest.v1+json",
  );
  const name = "example.com/big:1";
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "io.containerd.image.name": name } }],
    }),
  );
  return { dir, name, layerSize, remove: () => Deno.remove(dir, { recursive: true }) };
}
