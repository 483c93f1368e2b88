/**
 * Where `-o FILE` writes, checked and opened before anything is read from a store, so that a bad
 * destination fails at once and names the user's path, and so that nothing the path names is ever
 * destroyed:
 * - a character or block device, or a FIFO, is opened and written in place (there is nothing to
 *   make atomic, and replacing it with a regular file would destroy it);
 * - a symbolic link is followed, and its final target replaced: the link stays a link;
 * - a regular file is replaced atomically (a temporary file beside it, flushed, renamed over it)
 *   and keeps its permission bits (and owner, where we may set it); a file the caller may not
 *   write is refused, as `cp` refuses it;
 * - a directory, a socket, a missing or unwritable parent directory are refused with a message
 *   naming the path.
 *
 * @module
 */
import { copyToWriter, OutputError } from "./output.ts";

/** A destination that cannot be written; the message names the path the user gave. */
export class DestinationError extends Error {
  /** The path as the user gave it. */
  readonly path: string;

  /** Makes an error about `path`. */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DestinationError";
    this.path = path;
  }
}

/** How many symbolic links are followed before giving up, as Linux does (ELOOP). */
const MAX_LINKS = 40;

/** The suffix of a temporary file; a `kill -9` mid-export leaves one behind. */
export const PARTIAL_SUFFIX = ".ocipack-partial";

/** The longest file name Linux filesystems take, in bytes. */
const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/** An opened destination: write the archive once with {@linkcode Destination.write}. */
export class Destination {
  /** The path as the user gave it. */
  readonly path: string;
  /** The path written: `path` with every symbolic link followed. */
  readonly target: string;
  /** The temporary file renamed over `target` when complete; none for a device or FIFO. */
  readonly temp: string | undefined;
  /** The temporary file, open; none for a device or FIFO, opened only when written. */
  readonly #file: Deno.FsFile | undefined;
  #done = false;

  private constructor(
    path: string,
    target: string,
    temp: string | undefined,
    file: Deno.FsFile | undefined,
  ) {
    this.path = path;
    this.target = target;
    this.temp = temp;
    this.#file = file;
  }

  /**
   * Checks `path` and opens what will be written: a new temporary file beside the final target of
   * `path`. A device or FIFO is only checked here, and opened when written (opening a FIFO waits
   * for its reader).
   */
  static async open(path: string): Promise<Destination> {
    const name = baseName(path);
    if (path === "" || path.endsWith("/") || name === "." || name === "..") {
      throw new DestinationError(path, `Output ${JSON.stringify(path)} does not name a file`);
    }
    await checkPermissions(path);
    const target = await followLinks(path);
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(target);
    } catch (error) {
      if (error instanceof Deno.errors.NotADirectory) {
        throw new DestinationError(path, `Cannot write ${path}: a parent is not a directory`);
      }
      if (!(error instanceof Deno.errors.NotFound)) throw fsError(path, error);
    }
    if (info?.isDirectory) {
      throw new DestinationError(path, `Cannot write ${path}: it is a directory`);
    }
    if (info !== undefined && (info.isCharDevice || info.isBlockDevice || info.isFifo)) {
      return new Destination(path, target, undefined, undefined);
    }
    if (info !== undefined && !info.isFile) {
      throw new DestinationError(path, `Cannot write ${path}: it is not a file, device or FIFO`);
    }
    if (info !== undefined) await checkWritable(path, target);
    const dir = dirName(target);
    const temp = `${dir}/${tempName(baseName(target))}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o666 });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        const exists = await Deno.stat(dir).then((i) => i.isDirectory, () => false);
        throw new DestinationError(
          path,
          exists
            ? `Cannot write ${path}: no file can be created in directory ${dir}`
            : `Cannot write ${path}: directory ${dir} does not exist`,
        );
      }
      if (error instanceof Deno.errors.PermissionDenied) {
        throw new DestinationError(path, `Cannot write ${path}: directory ${dir} is not writable`);
      }
      if (error instanceof Deno.errors.NotCapable) {
        throw new DestinationError(
          path,
          `Cannot write ${path}: it is written to a temporary file in its directory, then ` +
            `renamed into place; grant write access to the directory: --allow-write=${dir}`,
          { cause: error },
        );
      }
      throw fsError(path, error);
    }
    if (info !== undefined) {
      try {
        await checkReplaceable(path, dir, temp, info);
        await keepAttributes(temp, info);
      } catch (error) {
        file.close();
        await Deno.remove(temp).catch(() => {});
        throw error instanceof DestinationError ? error : fsError(path, error);
      }
    }
    return new Destination(path, target, temp, file);
  }

  /**
   * Writes the stream to the destination and, for a file, renames it into place once it is
   * complete and flushed. On any failure or abort the temporary file is removed and whatever
   * `path` named is left as it was.
   */
  async write(
    stream: ReadableStream<Uint8Array>,
    signal?: AbortSignal,
    bufferSize?: number,
  ): Promise<void> {
    if (this.#done) throw new TypeError("A destination is written once");
    this.#done = true;
    let file = this.#file;
    let closed = false;
    try {
      if (file === undefined) file = await this.#openInPlace(signal);
      await copyToWriter(stream, file, signal, bufferSize);
      if (this.temp !== undefined) await file.syncData();
      file.close();
      closed = true;
      signal?.throwIfAborted();
      if (this.temp !== undefined) {
        await Deno.rename(this.temp, this.target).catch((error) => {
          throw fsError(this.path, error);
        });
      }
    } catch (error) {
      if (!closed) file?.close();
      if (this.temp !== undefined) await Deno.remove(this.temp).catch(() => {});
      if (error instanceof OutputError && !(error.cause instanceof Deno.errors.BrokenPipe)) {
        // Name the file the user gave, not the temporary one.
        error.message = `Cannot write ${this.path}: ${reason(error.cause)}`;
      }
      throw error;
    } finally {
      await stream.cancel().catch(() => {});
    }
  }

  /**
   * Opens a device or FIFO for writing. Opening a FIFO blocks until a reader opens it: an abort
   * does not wait for that (the open itself cannot be cancelled; the process exits past it).
   */
  async #openInPlace(signal?: AbortSignal): Promise<Deno.FsFile> {
    signal?.throwIfAborted();
    const opening = Deno.open(this.target, { write: true }).catch((error) => {
      throw fsError(this.path, error);
    });
    if (signal === undefined) return await opening;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([opening, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
      // An open that completes after an abort is closed.
      opening.then((file) => signal.aborted && file.close(), () => {});
    }
  }

  /** Gives up without writing: closes the file and removes the temporary file. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#file?.close();
    if (this.temp !== undefined) await Deno.remove(this.temp).catch(() => {});
  }
}

/**
 * Says at once, in one line, which permissions to grant when Deno's flags do not allow reading
 * `path` (to see what it is) and writing its directory (for the temporary file), instead of
 * failing later or prompting for a temporary file's name.
 */
async function checkPermissions(path: string): Promise<void> {
  const dir = dirName(path);
  const read = await Deno.permissions.query({ name: "read", path });
  const write = await Deno.permissions.query({ name: "write", path: dir });
  const flags = [
    ...(read.state === "granted" ? [] : [`--allow-read=${path}`]),
    ...(write.state === "granted" ? [] : [`--allow-write=${dir}`]),
  ];
  if (flags.length === 0) return;
  throw new DestinationError(
    path,
    `Cannot write ${path}: it is written to a temporary file in its directory, then renamed ` +
      `into place; grant read access to it and write access to the directory: ${flags.join(" ")}`,
  );
}

/**
 * Refuses, before the export, a file that the rename at its end could not replace: in a sticky
 * directory (such as /tmp) only a file's owner, the directory's owner or root may.
 */
async function checkReplaceable(
  path: string,
  dir: string,
  temp: string,
  info: Deno.FileInfo,
): Promise<void> {
  const dirInfo = await Deno.stat(dir);
  if (dirInfo.mode === null || (dirInfo.mode & 0o1000) === 0) return;
  const me = (await Deno.stat(temp)).uid; // the temporary file is ours
  if (me === 0 || me === info.uid || me === dirInfo.uid) return;
  throw new DestinationError(
    path,
    `Cannot write ${path}: it belongs to another user in a sticky directory (${dir}), where ` +
      "only its owner may replace it",
  );
}

/** `path` with every symbolic link followed; the final target need not exist. */
async function followLinks(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return current;
      }
      throw fsError(path, error);
    }
    if (!info.isSymlink) return current;
    const link = await Deno.readLink(current).catch((error) => {
      throw fsError(path, error);
    });
    current = link.startsWith("/") ? link : `${dirName(current)}/${link}`;
  }
  throw new DestinationError(path, `Cannot write ${path}: too many levels of symbolic links`);
}

/** Refuses an existing file the caller may not write, as `cp` does, without changing it. */
async function checkWritable(path: string, target: string): Promise<void> {
  try {
    (await Deno.open(target, { write: true })).close();
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new DestinationError(
        path,
        `Cannot write ${path}: the file is not writable (permission denied); it was left as it is`,
      );
    }
    throw fsError(path, error);
  }
}

/** Gives the temporary file the replaced file's permission bits, and its owner where allowed. */
async function keepAttributes(temp: string, info: Deno.FileInfo): Promise<void> {
  if (info.mode !== null) await Deno.chmod(temp, info.mode & 0o7777);
  if (info.uid !== null && info.gid !== null) {
    // Only root may give a file away; anyone else keeps their own ownership.
    await Deno.chown(temp, info.uid, info.gid).catch((error) => {
      if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    });
    // chown clears set-user-ID and set-group-ID bits: set them again.
    if (info.mode !== null && (info.mode & 0o6000) !== 0) {
      await Deno.chmod(temp, info.mode & 0o7777);
    }
  }
}

/** A filesystem error about the destination, as one line naming the user's path. */
function fsError(path: string, error: unknown): DestinationError {
  return new DestinationError(path, `Cannot write ${path}: ${reason(error)}`, { cause: error });
}

/**
 * What went wrong, without the operation and path Deno appends (`...: open '/x/.y.partial'`),
 * which would name the temporary file rather than the user's.
 */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotCapable) return message;
  return message.replace(/: [a-z_]+ '.*$/s, "");
}

/**
 * The temporary file's name: `.NAME.XXXXXXXX.ocipack-partial`, with NAME shortened as needed to
 * stay within the 255 bytes a file name may have.
 */
function tempName(name: string): string {
  const suffix = `.${randomTag()}${PARTIAL_SUFFIX}`;
  let kept = name;
  while (encoder.encode(`.${kept}${suffix}`).length > MAX_NAME_BYTES) {
    kept = kept.slice(0, -1);
  }
  return `.${kept}${suffix}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function dirName(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "." : path.slice(0, slash) || "/";
}

function randomTag(): string {
  return crypto.randomUUID().slice(0, 8);
}
