/**
 * The `--platform` flag's values: repeatable, and each may list several platforms separated by
 * commas, as ctr's flag takes them (`--platform linux/amd64,linux/arm64`).
 *
 * @module
 */
import { parsePlatform, type Platform } from "../oci/platforms.ts";

/** Parses every platform given, in order; an empty item is an error. */
export function parsePlatformList(values: readonly string[]): Platform[] {
  const platforms: Platform[] = [];
  for (const value of values) {
    for (const item of value.split(",")) {
      const trimmed = item.trim();
      if (trimmed === "") throw new RangeError(`Empty platform in --platform ${value}`);
      platforms.push(parsePlatform(trimmed));
    }
  }
  return platforms;
}
