/**
 * Adds blobs and names to an OCI layout directory all at once or not at all: blobs are written
 * into a staging directory inside the store, and only at {@linkcode LayoutWriter.commit} are they
 * moved into `blobs/` and `index.json` replaced (temporary file, fsync, rename), under a lock file
 * so that concurrent writers lose no names. On any failure, or {@linkcode LayoutWriter.abort}, the
 * store is left as it was.
 *
 * @module
 */
import type { Image } from "./content.ts";
import { MAX_STORE_INDEX_SIZE } from "./layout.ts";
import { blobPath, parseDigest } from "../oci/digest.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  decodeIndex,
  type Descriptor,
  DocumentError,
  encodeArchiveIndex,
  OCI_LAYOUT,
} from "../oci/documents.ts";
import { InvalidDocumentError, OcipackError } from "../oci/errors.ts";
import { ociReferenceName } from "../oci/reference.ts";

/** How long {@linkcode LayoutWriter.commit} waits for another writer's lock. */
const LOCK_WAIT_MS = 60_000;
const LOCK_RETRY_MS = 25;
const LOCK_FILE = "index.json.lock";
const STAGING_PREFIX = ".ocipack-staging-";
const OWNER_FILE = "owner.pid";

/** A staged blob being written. */
export interface StagedFile {
  /** Writes bytes at the end. */
  write(chunk: Uint8Array): Promise<void>;
  /** Closes it and files it under its digest in the staging directory. */
  commit(digest: string): Promise<void>;
  /** Closes and removes it. */
  abort(): Promise<void>;
}

/** What a commit did. */
export interface CommitResult {
  /** Blobs moved into the store. */
  newBlobs: number;
  /** Blobs the store already had. */
  presentBlobs: number;
  /** Bytes of the new blobs. */
  newBytes: number;
}

/**
 * A store cannot be written: its path is not a directory, or its lock is held by another writer
 * for longer than a minute.
 *
 * @example Import into a path that is a file
 * ```ts
 * import assert from "node:assert/strict";
 * import { importArchive, StoreWriteError } from "@ocipack/ocipack";
 *
 * const file = await Deno.makeTempFile();
 * try {
 *   await importArchive(ReadableStream.from([new Uint8Array(1024)]), file);
 *   assert.fail("a file is not a store");
 * } catch (error) {
 *   if (!(error instanceof StoreWriteError)) throw error;
 *   assert.match(error.message, /is not a directory/);
 * } finally {
 *   await Deno.remove(file);
 * }
 * ```
 */
export class StoreWriteError extends OcipackError {}

const encoder = new TextEncoder();

/** A pending change to an OCI layout directory. Use {@linkcode LayoutWriter.open}. */
export class LayoutWriter {
  readonly #root: string;
  readonly #staging: string;
  readonly #createdRoot: boolean;
  readonly #staged = new Map<string, string>(); // digest -> staged path
  #counter = 0;
  #done = false;

  private constructor(root: string, staging: string, createdRoot: boolean) {
    this.#root = root;
    this.#staging = staging;
    this.#createdRoot = createdRoot;
  }

  /** Starts a change to the layout at `root`, creating the directory when absent. */
  static async open(root: string): Promise<LayoutWriter> {
    let createdRoot = false;
    try {
      const info = await Deno.stat(root);
      if (!info.isDirectory) throw new StoreWriteError(`${root} is not a directory`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      await Deno.mkdir(root, { recursive: true });
      createdRoot = true;
    }
    await sweepStaleStaging(root);
    const staging = await Deno.makeTempDir({ dir: root, prefix: STAGING_PREFIX });
    await Deno.writeTextFile(`${staging}/${OWNER_FILE}`, String(Deno.pid));
    return new LayoutWriter(root, staging, createdRoot);
  }

  /** Whether the store already holds a blob of this digest and size. */
  async has(digest: string, size: number): Promise<boolean> {
    parseDigest(digest);
    try {
      const info = await Deno.lstat(`${this.#root}/${blobPath(digest)}`);
      return info.isFile && info.size === size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /** Whether a blob has been staged. */
  staged(digest: string): boolean {
    return this.#staged.has(digest);
  }

  /** Starts a staged file, to be filed under its digest once written. */
  async create(): Promise<StagedFile> {
    const path = `${this.#staging}/part-${this.#counter++}`;
    const file = await Deno.open(path, { write: true, createNew: true });
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        file.close();
      }
    };
    return {
      write: async (chunk) => {
        let at = 0;
        while (at < chunk.length) at += await file.write(chunk.subarray(at));
      },
      commit: async (digest) => {
        close();
        parseDigest(digest);
        if (this.#staged.has(digest)) {
          await Deno.remove(path);
          return;
        }
        const target = `${this.#staging}/${digest.replace(":", "-")}`;
        await Deno.rename(path, target);
        this.#staged.set(digest, target);
      },
      abort: async () => {
        close();
        await Deno.remove(path).catch(() => {});
      },
    };
  }

  /** Stages bytes held in memory under their digest. */
  async stageBytes(digest: string, bytes: Uint8Array): Promise<void> {
    if (this.#staged.has(digest)) return;
    const file = await this.create();
    try {
      await file.write(bytes);
      await file.commit(digest);
    } catch (error) {
      await file.abort();
      throw error;
    }
  }

  /**
   * Moves the staged blobs listed in `keep` (of those the store does not have) into `blobs/` and
   * points each name of `images` at its target in `index.json` (a name already there moves), all
   * under the store's lock. Staged blobs not in `keep` are dropped. On failure the store is
   * restored and the staging directory removed.
   *
   * @throws {StoreWriteError} when a blob to keep was neither staged nor present, or the lock
   * cannot be had.
   */
  async commit(images: readonly Image[], keep: ReadonlyMap<string, number>): Promise<CommitResult> {
    if (this.#done) throw new StoreWriteError("This change was already committed or aborted");
    this.#done = true;
    const moved: string[] = [];
    const createdDirs: string[] = [];
    let createdLayout = false;
    const unlock = await this.#lock();
    try {
      let newBlobs = 0;
      let presentBlobs = 0;
      let newBytes = 0;
      for (const [digest, size] of keep) {
        if (await this.has(digest, size)) {
          presentBlobs++;
          continue;
        }
        const source = this.#staged.get(digest);
        if (source === undefined) {
          throw new StoreWriteError(`Blob ${digest} was neither staged nor in the store`, {
            digest,
          });
        }
        const { algorithm } = parseDigest(digest);
        const dir = `${this.#root}/blobs/${algorithm}`;
        for (const d of [`${this.#root}/blobs`, dir]) {
          try {
            await Deno.mkdir(d);
            createdDirs.push(d);
          } catch (error) {
            if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
          }
        }
        const target = `${this.#root}/${blobPath(digest)}`;
        await Deno.rename(source, target);
        moved.push(target);
        newBlobs++;
        newBytes += size;
      }
      const layoutPath = `${this.#root}/oci-layout`;
      try {
        await Deno.lstat(layoutPath);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        await writeDurably(layoutPath, encoder.encode(OCI_LAYOUT), this.#staging);
        createdLayout = true;
      }
      const manifests = await this.#readIndex();
      const names = new Set(images.map((i) => i.name));
      const kept = manifests.filter((d) => {
        const name = d.annotations?.[ANNOTATION_IMAGE_NAME] || d.annotations?.[ANNOTATION_REF_NAME];
        return !name || !names.has(name);
      });
      for (const image of images) {
        // As containerd's image store: a name keeps its target's media type, digest and size.
        kept.push({
          mediaType: image.target.mediaType,
          digest: image.target.digest,
          size: image.target.size,
          annotations: {
            [ANNOTATION_IMAGE_NAME]: image.name,
            [ANNOTATION_REF_NAME]: ociReferenceName(image.name),
          },
        });
      }
      await writeDurably(
        `${this.#root}/index.json`,
        encoder.encode(encodeArchiveIndex(kept)),
        this.#staging,
      );
      return { newBlobs, presentBlobs, newBytes };
    } catch (error) {
      for (const path of moved.reverse()) await Deno.remove(path).catch(() => {});
      for (const dir of createdDirs.reverse()) await Deno.remove(dir).catch(() => {});
      if (createdLayout) await Deno.remove(`${this.#root}/oci-layout`).catch(() => {});
      throw error;
    } finally {
      await Deno.remove(this.#staging, { recursive: true }).catch(() => {});
      await unlock();
    }
  }

  /** Drops the change: removes the staging directory (and the store, when this created it). */
  async abort(): Promise<void> {
    this.#done = true;
    await Deno.remove(this.#staging, { recursive: true }).catch(() => {});
    if (this.#createdRoot) {
      // Only if nothing else appeared in it meanwhile.
      await Deno.remove(this.#root).catch(() => {});
    }
  }

  async #readIndex(): Promise<Descriptor[]> {
    let bytes: Uint8Array;
    try {
      const info = await Deno.stat(`${this.#root}/index.json`);
      if (info.size > MAX_STORE_INDEX_SIZE) {
        throw new InvalidDocumentError(`${this.#root}/index.json is over the size limit`);
      }
      bytes = await Deno.readFile(`${this.#root}/index.json`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    try {
      return decodeIndex(bytes).manifests;
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw new InvalidDocumentError(`Invalid ${this.#root}/index.json: ${error.message}`);
    }
  }

  async #lock(): Promise<() => Promise<void>> {
    const path = `${this.#root}/${LOCK_FILE}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (true) {
      try {
        const file = await Deno.open(path, { write: true, createNew: true });
        try {
          await file.write(new TextEncoder().encode(String(Deno.pid)));
        } finally {
          file.close();
        }
        return () => Deno.remove(path).catch(() => {});
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        // A lock left by a process that died (kill -9) is removed.
        if (await ownerIsGone(path)) {
          await Deno.remove(path).catch(() => {});
          continue;
        }
        if (Date.now() > deadline) {
          throw new StoreWriteError(
            `The store is locked by another writer (${path}); remove the file if none is running`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    }
  }
}

/** Whether the process whose id a file holds is gone (false when unknown or still running). */
async function ownerIsGone(path: string): Promise<boolean> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const pid = /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
  if (pid === undefined || pid === Deno.pid) return false;
  try {
    await Deno.stat("/proc/self");
  } catch {
    return false; // no /proc: cannot tell
  }
  try {
    await Deno.stat(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

/** Removes the staging directories of imports whose process died. */
async function sweepStaleStaging(root: string): Promise<void> {
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isDirectory || !entry.name.startsWith(STAGING_PREFIX)) continue;
    const dir = `${root}/${entry.name}`;
    if (await ownerIsGone(`${dir}/${OWNER_FILE}`)) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

/** Writes a file by a temporary file in `tempDir`, fsync and rename, then syncs its directory. */
async function writeDurably(path: string, bytes: Uint8Array, tempDir: string): Promise<void> {
  const temp = `${tempDir}/write-${crypto.randomUUID()}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  try {
    let at = 0;
    while (at < bytes.length) at += await file.write(bytes.subarray(at));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some filesystems cannot sync a directory; the rename is still atomic.
  }
}
