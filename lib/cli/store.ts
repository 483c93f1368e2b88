/**
 * What `--store` names, as the command line opens it: a containerd root (the directory holding
 * `io.containerd.metadata.v1.bolt`), whose images are those of one namespace (`-n`, default
 * `default`), an archive file (plain tar, read in place), or else an OCI image layout or
 * containerd's content directory (blobs by digest).
 *
 * @module
 */
import { InvalidArchiveError, InvalidArgumentError } from "../oci/errors.ts";
import { openLayout } from "../stores/layout.ts";
import { openArchive } from "../stores/archive/store.ts";
import {
  CONTAINERD_CONTENT_DIR,
  CONTAINERD_DEFAULT_NAMESPACE,
  type ContainerdNamespace,
  isContainerdRoot,
  listContainerdNamespaces,
  openContainerd,
} from "../stores/containerd/store.ts";
import type { Store } from "./images.ts";

/**
 * Opens the store a user named: a containerd root in `namespace` (default `default`), else a
 * layout. A namespace given for a store that is not a containerd root is a usage mistake.
 *
 * @throws {InvalidArgumentError} for `--namespace` with a store that is not a containerd root.
 */
export async function openStore(path: string, namespace?: string): Promise<Store> {
  try {
    return await openStoreAt(path, namespace);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new InvalidArgumentError(`Store ${path} cannot be read: permission denied`, {
        cause: error,
      });
    }
    throw error;
  }
}

async function openStoreAt(path: string, namespace?: string): Promise<Store> {
  if (path !== "" && await isContainerdRoot(path)) {
    return await openContainerd(path, { namespace: namespace ?? CONTAINERD_DEFAULT_NAMESPACE });
  }
  if (namespace !== undefined) {
    throw new InvalidArgumentError(
      `--namespace needs a containerd root as --store, the directory holding io.containerd.metadata.v1.bolt; ${path} is not one`,
    );
  }
  if (!await isFile(path)) return await openLayout(path);
  try {
    return await openArchive(path);
  } catch (error) {
    if (!(error instanceof InvalidArchiveError)) throw error;
    throw new InvalidArgumentError(
      `Store ${path} is a file but not an image archive (${lowerFirst(error.message)}); give an ` +
        "archive, a containerd root, an OCI image layout or a containerd content directory",
      { cause: error },
    );
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Whether `path` is a regular file (an archive given as a store); false if it does not exist. */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The namespaces of `path` when it is a containerd root; undefined for any other store. */
export async function containerdNamespaces(
  path: string,
): Promise<ContainerdNamespace[] | undefined> {
  if (path === "" || !await isContainerdRoot(path)) return undefined;
  return await listContainerdNamespaces(path);
}

/**
 * A hint for a listing that came out empty because the store is the content directory of a
 * containerd root, which holds blobs but no names: the root holds them.
 */
export async function emptyListingHint(path: string): Promise<string | undefined> {
  const trimmed = path.replace(/\/+$/, "");
  if (!trimmed.endsWith(`/${CONTAINERD_CONTENT_DIR}`) && trimmed !== CONTAINERD_CONTENT_DIR) {
    return undefined;
  }
  const root = trimmed.slice(0, -CONTAINERD_CONTENT_DIR.length).replace(/\/+$/, "") || ".";
  if (!await isContainerdRoot(root)) return undefined;
  return `${path} is containerd's content directory, which has no image names; ` +
    `its root has them: --store ${root} (add -n NAMESPACE; 'ocipack list --store ${root}' lists the namespaces)`;
}

/** The namespaces as a table (NAMESPACE, IMAGES), or a JSON array. */
export function formatNamespaces(
  namespaces: readonly ContainerdNamespace[],
  json: boolean,
): string {
  if (json) return JSON.stringify(namespaces, null, 2) + "\n";
  const rows = [["NAMESPACE", "IMAGES"], ...namespaces.map((n) => [n.name, String(n.images)])];
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([name, count]) => `${name.padEnd(width)} ${count}`).join("\n") + "\n";
}
