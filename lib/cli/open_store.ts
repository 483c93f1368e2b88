/**
 * Opens what `--store` names: a directory (an OCI layout or containerd's content directory) or an
 * archive file (plain tar), as one provider and image store.
 *
 * @module
 */
import type { ContentProvider, ImageStore } from "../stores/content.ts";
import { openLayout } from "../stores/layout.ts";
import { openArchive } from "../stores/archive/store.ts";

/** Opens a store directory, or an archive file as a read-only store. */
export async function openStore(path: string): Promise<ContentProvider & ImageStore> {
  let isFile = false;
  try {
    isFile = (await Deno.stat(path)).isFile;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return isFile ? await openArchive(path) : await openLayout(path);
}
