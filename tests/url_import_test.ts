/**
 * mod.ts works when imported by URL (a remote module's own import map is ignored by Deno): the
 * repository is served over HTTP on 127.0.0.1, and a script in an empty temp dir (no deno.json,
 * an empty DENO_DIR) imports mod.ts from there and makes the README's call. Its archive must equal
 * the CLI's byte for byte.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const STORE = new URL("../testdata/store/", import.meta.url).pathname;
const HELLO = "docker.io/library/hello:oci";

Deno.test("mod.ts imported by URL writes the CLI's archive", async () => {
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      served.push(path);
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "ocipack-url-" });
  try {
    const origin = `127.0.0.1:${server.addr.port}`;
    await Deno.writeTextFile(
      `${dir}/export.ts`,
      `import { exportArchive, openLayout } from "http://${origin}/mod.ts";\n` +
        `const [dir, name, out] = Deno.args;\n` +
        `using file = await Deno.open(out, { write: true, create: true, truncate: true });\n` +
        `await exportArchive(await openLayout(dir), { images: [name] }).pipeTo(file.writable);\n`,
    );
    await Deno.mkdir(`${dir}/deno_dir`);
    const script = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-import=${origin}`,
        "-R",
        "-W",
        "--no-config",
        "--no-lock",
        "export.ts",
        STORE,
        HELLO,
        `${dir}/by-url.tar`,
      ],
      cwd: dir,
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(script.code, 0, new TextDecoder().decode(script.stderr));
    assert.ok(served.includes("/mod.ts") && served.some((p) => p.startsWith("/lib/")));
    assert.ok(!served.includes("/deno.json"), "mod.ts needs no config file");

    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-R",
        "-W",
        new URL("cli.ts", ROOT).pathname,
        "export",
        "--store",
        STORE,
        HELLO,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
    assert.deepEqual(await Deno.readFile(`${dir}/by-url.tar`), cli.stdout);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("source files import only relative, node: and versioned npm: specifiers", async () => {
  const files = ["mod.ts", "cli.ts", ...await libFiles()];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (
      const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)
    ) {
      assert.ok(
        specifier.startsWith("./") || specifier.startsWith("../") ||
          specifier.startsWith("node:") ||
          /^npm:(@[^/]+\/)?[^@/]+@\^?\d/.test(specifier),
        `${file} imports ${specifier}`,
      );
    }
  }
});

/** Every TypeScript file under lib/, as a path relative to the repository. */
async function libFiles(dir = "lib"): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await libFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

// lib/ is grouped by role, lowest first: oci (formats and rules), stores (where content comes
// from), export and import (the two directions), cli (what only cli.ts uses). A folder may import
// from its own level and the ones below, never from above, so the pipeline reads bottom-up.
const LEVELS: Record<string, number> = { oci: 0, stores: 1, export: 2, import: 2, cli: 3 };

Deno.test("lib/ folders import only from their own level or lower ones", async () => {
  for (const file of await libFiles()) {
    const folder = file.split("/")[1];
    assert.ok(folder in LEVELS, `${file} is in no known folder of lib/`);
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (
      const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)
    ) {
      if (!specifier.startsWith(".")) continue;
      const target = new URL(specifier, new URL(file, ROOT)).pathname;
      const inLib = target.slice(new URL("lib/", ROOT).pathname.length).split("/")[0];
      assert.ok(inLib in LEVELS, `${file} imports ${specifier}, outside lib/`);
      const allowed = folder === inLib || LEVELS[inLib] < LEVELS[folder];
      assert.ok(
        allowed,
        `${file} (${folder}) imports ${specifier} (${inLib}), a higher level`,
      );
    }
  }
});
