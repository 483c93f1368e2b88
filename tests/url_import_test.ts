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
  const files = ["mod.ts", "cli.ts"];
  for await (const entry of Deno.readDir(new URL("lib/", ROOT))) files.push(`lib/${entry.name}`);
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
