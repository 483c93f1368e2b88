/**
 * Go's `path.Clean` and `path.Join`, for the places that must build a path exactly as Go does:
 * platform specifiers (containerd's `platforms.Format`) and PAX header names (`archive/tar`).
 * Only `/` and `.` are special, so they work on JavaScript strings as Go's do on bytes.
 *
 * @module
 */

/** Go's `path.Clean`. */
export function goPathClean(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const element of path.split("/")) {
    if (element === "" || element === ".") continue;
    if (element === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(element);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** Go's `path.Join`: the non-empty elements joined with `/`, then cleaned. */
export function goPathJoin(...elements: string[]): string {
  const kept = elements.filter((e) => e !== "");
  return kept.length === 0 ? "" : goPathClean(kept.join("/"));
}
