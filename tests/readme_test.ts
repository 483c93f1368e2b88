// Every code block of README.md runs, as a user would run it: `deno test --doc README.md`, with a
// real registry (Debian's docker-registry, started here) for the registry examples, whose address
// they read from REGISTRY.
import assert from "node:assert/strict";
import { requireTools } from "./support/containerd.ts";
import { TestRegistry } from "./support/registry.ts";

const README = new URL("../README.md", import.meta.url).pathname;
const STORE = new URL("../testdata/store/", import.meta.url).pathname;

Deno.test({
  name: "every code block in README.md runs",
  ignore: requireTools("docker-registry").ignore,
  async fn() {
    await using registry = await TestRegistry.start("none");
    await registry.push(STORE, "docker.io/library/hello:oci", "app", "1");
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--doc", "--no-lock", README],
      cwd: new URL("..", import.meta.url).pathname,
      env: { REGISTRY: registry.host, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
    assert.match(output, /ok \| \d+ passed \| 0 failed/);
  },
});
