/**
 * A writable copy of a testdata store in a temp dir, for tests that damage or extend it.
 */
import { createHash } from "node:crypto";

/** A descriptor as tests write them. */
export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
  [key: string]: unknown;
}

/** A temporary copy of a store. */
export class ScratchStore {
  private constructor(readonly dir: string) {}

  /** Copies `testdata/<name>` into a new temp dir. */
  static async copy(name = "store"): Promise<ScratchStore> {
    const dir = await Deno.makeTempDir({ prefix: "ocipack-scratch-" });
    const source = new URL(`../../testdata/${name}/`, import.meta.url).pathname;
    const cp = await new Deno.Command("cp", { args: ["-a", `${source}.`, dir] }).output();
    if (cp.code !== 0) throw new Error(`cp failed: ${new TextDecoder().decode(cp.stderr)}`);
    return new ScratchStore(dir);
  }

  /** The path of a blob. */
  path(digest: string): string {
    const [algorithm, hex] = digest.split(":");
    return `${this.dir}/blobs/${algorithm}/${hex}`;
  }

  /** Reads a blob as JSON. */
  async json<T = Record<string, unknown>>(digest: string): Promise<T> {
    return JSON.parse(await Deno.readTextFile(this.path(digest)));
  }

  /** Adds a blob and returns its descriptor. */
  async put(mediaType: string, bytes: Uint8Array | string, algorithm = "sha256"): Promise<Desc> {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    const digest = `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
    await Deno.mkdir(`${this.dir}/blobs/${algorithm}`, { recursive: true });
    await Deno.writeFile(this.path(digest), data);
    return { mediaType, digest, size: data.length };
  }

  /** The store's index.json entry for an image name. */
  async target(name: string): Promise<Desc> {
    const index = await this.index();
    const found = index.manifests.find((m) => m.annotations?.["io.containerd.image.name"] === name);
    if (found === undefined) throw new Error(`No ${name} in the store`);
    return found;
  }

  /** The store's index.json. */
  async index(): Promise<{ schemaVersion: number; manifests: Desc[] }> {
    return JSON.parse(await Deno.readTextFile(`${this.dir}/index.json`));
  }

  /** Replaces the store's index.json entries. */
  async setImages(entries: Desc[]): Promise<void> {
    await Deno.writeTextFile(
      `${this.dir}/index.json`,
      JSON.stringify({ schemaVersion: 2, manifests: entries }),
    );
  }

  /** Adds (or replaces) a named image. */
  async name(target: Desc, name: string): Promise<void> {
    const index = await this.index();
    const others = index.manifests.filter((m) =>
      m.annotations?.["io.containerd.image.name"] !== name
    );
    await this.setImages([
      ...others,
      { ...target, annotations: { "io.containerd.image.name": name } },
    ]);
  }

  /** Removes the copy. */
  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }

  /** `await using` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}
