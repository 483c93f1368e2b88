/** A listing of a directory tree with sizes and hashes, to show a store is unchanged. */
import { createHash } from "node:crypto";

/** `path size sha256` for every file (and `path/` for every directory), sorted. */
export async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) {
        out.push(`${prefix}${e.name}/`);
        await walk(path, `${prefix}${e.name}/`);
      } else {
        const bytes = await Deno.readFile(path);
        out.push(
          `${prefix}${e.name} ${bytes.length} ${createHash("sha256").update(bytes).digest("hex")}`,
        );
      }
    }
  }
  await walk(root, "");
  return out.sort();
}
