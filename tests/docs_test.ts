// The public documentation as `deno doc` shows it: what users may call, and nothing internal.
import assert from "node:assert/strict";

const MOD = new URL("../mod.ts", import.meta.url);

interface DocSymbol {
  name: string;
  declarations: { kind: string; def?: { constructors?: unknown[] } }[];
}

async function symbols(): Promise<DocSymbol[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", MOD.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const doc = JSON.parse(new TextDecoder().decode(stdout));
  return doc.nodes[MOD.href].symbols;
}

Deno.test("deno doc shows no constructor for a store class: its open function makes it", async () => {
  const all = await symbols();
  for (const name of ["Layout", "ContainerdStore", "ArchiveStore"]) {
    const store = all.find((s) => s.name === name);
    assert.ok(store, `${name} is documented`);
    for (const declaration of store.declarations) {
      assert.equal(declaration.def?.constructors?.length ?? 0, 0, name);
    }
  }
});

Deno.test("every public symbol has a doc comment with an example", async () => {
  for (const symbol of await symbols()) {
    for (const declaration of symbol.declarations) {
      const doc = (declaration as { jsDoc?: { tags?: { kind: string }[] } }).jsDoc;
      assert.ok(doc, `${symbol.name} has no doc comment`);
      assert.ok(doc.tags?.some((t) => t.kind === "example"), `${symbol.name} has no @example`);
    }
  }
});
