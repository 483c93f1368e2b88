/**
 * The count-scale store: many small images sharing some layers, the shape of an air-gap bundle
 * (every image of a release), where an export's cost is per blob rather than per byte.
 *
 * Image i has an OCI manifest, a config and 6 layers of 100 B to 4 KiB: 3 layers of its own and 3
 * of a pool of 40 shared ones. Every image is named `example.com/count/app-<i>:1.0`, and every
 * tenth also `...:latest`, so 2,000 images give 2,200 names and 10,040 blobs (about 12 MB of
 * content, 41 MB on disk). Contents are seeded: the same counts give the same store.
 *
 * Used by bench/run.ts (cached under bench/.cache/) and by tests/count_scale_test.ts.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Layers each image has. */
export const LAYERS_PER_IMAGE = 6;
/** Of those, how many come from the shared pool. */
const SHARED_PER_IMAGE = 3;
/** The shared pool's size. */
export const SHARED_LAYERS = 40;
/** Every this-many-th image gets a second name. */
const SECOND_NAME_EVERY = 10;

const LAYER = "application/vnd.oci.image.layer.v1.tar";
const CONFIG = "application/vnd.oci.image.config.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** What {@linkcode buildCountStore} made. */
export interface CountStore {
  /** The store directory. */
  dir: string;
  /** Every name, in index.json order. */
  names: string[];
  /** How many blobs the store holds. */
  blobs: number;
}

/** The names of a count store of `images` images, in index.json order. */
export function countStoreNames(images: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < images; i++) names.push(...imageNames(i));
  return names;
}

/** The names of image `i`. */
function imageNames(i: number): string[] {
  const name = `example.com/count/app-${i}`;
  return i % SECOND_NAME_EVERY === 0 ? [`${name}:1.0`, `${name}:latest`] : [`${name}:1.0`];
}

/** How many blobs a count store of `images` images holds. */
export function countStoreBlobs(images: number): number {
  return images * (2 + LAYERS_PER_IMAGE - SHARED_PER_IMAGE) + Math.min(images, 1) * SHARED_LAYERS;
}

/**
 * Writes a count store of `images` images into `dir` (which must not exist), through a
 * `.partial` directory renamed into place when complete.
 */
export async function buildCountStore(dir: string, images: number): Promise<CountStore> {
  const partial = `${dir}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${partial}/blobs/sha256`, { recursive: true });
  let state = 0x9e3779b9 ^ images;
  /** xorshift32: fast seeded bytes. */
  const fill = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes[i] = state & 0xff;
    }
  };
  const below = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const put = (bytes: Uint8Array, mediaType: string) => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    Deno.writeFileSync(`${partial}/blobs/sha256/${hex}`, bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = () => {
    const bytes = new Uint8Array(100 + below(4096 - 100 + 1));
    fill(bytes);
    return put(bytes, LAYER);
  };
  const encoder = new TextEncoder();
  const json = (value: unknown, mediaType: string) =>
    put(encoder.encode(JSON.stringify(value)), mediaType);

  const shared = Array.from({ length: SHARED_LAYERS }, layer);
  const entries = [];
  for (let i = 0; i < images; i++) {
    const layers = [];
    for (let k = 0; k < SHARED_PER_IMAGE; k++) {
      layers.push(shared[(i * 7 + k * 13) % SHARED_LAYERS]);
    }
    for (let k = SHARED_PER_IMAGE; k < LAYERS_PER_IMAGE; k++) layers.push(layer());
    const config = json({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "example.com/count": String(i) } },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    }, CONFIG);
    const manifest = json({ schemaVersion: 2, mediaType: MANIFEST, config, layers }, MANIFEST);
    for (const name of imageNames(i)) {
      const tag = name.slice(name.lastIndexOf(":") + 1);
      entries.push({
        ...manifest,
        annotations: {
          "io.containerd.image.name": name,
          "org.opencontainers.image.ref.name": tag,
        },
      });
    }
  }
  await Deno.writeTextFile(`${partial}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${partial}/index.json`,
    JSON.stringify({ schemaVersion: 2, manifests: entries }),
  );
  await Deno.rename(partial, dir);
  return { dir, names: countStoreNames(images), blobs: countStoreBlobs(images) };
}

/** The count store of `images` images under `cacheDir`, built the first time it is asked for. */
export async function cachedCountStore(cacheDir: string, images: number): Promise<CountStore> {
  const dir = `${cacheDir}/count-${images}`;
  try {
    await Deno.stat(`${dir}/index.json`);
    return { dir, names: countStoreNames(images), blobs: countStoreBlobs(images) };
  } catch {
    console.error(`Building the ${images}-image store in ${dir} ...`);
    await Deno.mkdir(cacheDir, { recursive: true });
    return await buildCountStore(dir, images);
  }
}
