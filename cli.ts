#!/usr/bin/env -S deno run -R -W
/**
 * The ocipack command line: `export` writes an image archive from a store, `list` shows the
 * store's images. A thin layer over the library: it parses arguments, calls `exportArchive`, and
 * pipes the stream to a file (atomically) or to stdout.
 *
 * ```sh
 * deno run -R -W cli.ts export --store testdata/store -o hello.tar docker.io/library/hello:oci
 * deno run -R cli.ts list --store testdata/store
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import denoJson from "./deno.json" with { type: "json" };
import {
  defaultStrict,
  type ExportProgress,
  hostPlatform,
  type ManifestRequest,
  OcipackError,
  only,
  type Platform,
  prepareExport,
} from "./mod.ts";
import { Destination } from "./lib/cli/destination.ts";
import { incompleteWarning, nothingLoadable, withHint } from "./lib/cli/hints.ts";
import { listImageSummaries } from "./lib/cli/images.ts";
import { copyBufferSize, copyToWriter, OutputError, writeAll } from "./lib/cli/output.ts";
import { parsePlatformList } from "./lib/cli/platform_flags.ts";
import { formatBytes, ProgressLine } from "./lib/cli/progress.ts";
import {
  containerdNamespaces,
  emptyListingHint,
  formatNamespaces,
  openStore,
} from "./lib/cli/store.ts";
import { CommandUsageError, importCommand, verifyCommand } from "./lib/cli/archive_commands.ts";
import {
  isRegistryArgument,
  listRegistry,
  openRegistryFromFlags,
  readPasswordFromTerminal,
  type RegistryFlags,
  resolveRequests,
  RoutedStore,
} from "./lib/cli/registry.ts";

const HELP = `ocipack ${denoJson.version}: write container image archives from a content store

Usage:
  ocipack export --store DIR [-n NS] [-o FILE] [options] IMAGE...
  ocipack list --store DIR [-n NS] [--json]
  ocipack export [-o FILE] [options] docker://REF...
  ocipack list docker://REPO | docker://REF
  ocipack import --store DIR [options] FILE|-
  ocipack verify [options] FILE|-
  ocipack --version

Commands:
  export   Write an archive of images (OCI layout + Docker manifest.json) that docker load,
           podman load, ctr images import and skopeo accept
  list     List the images of a store (a directory, or an archive file)
  import   Add the images of an archive to a store, all or nothing
  verify   Check an archive without storing it

Run 'ocipack <command> --help' for a command's options and examples.
`;

const EXPORT_HELP = `Usage: ocipack export --store DIR [-n NS] [-o FILE] [options] IMAGE...

Write an image archive, byte-identical to 'ctr images export' (containerd 2.x) for the same
images and options. Every blob's digest and size is verified as it is copied.

IMAGE is a name from the store (as 'ocipack list' shows it, or its short form such as
'hello:oci'), NAME@sha256:..., a bare digest sha256:... (that manifest or index, unnamed), or
12 or more hex digits that start one image's digest (as docker's short IDs). An unknown name
that ends a stored one (partial:1 for example.com/partial:1) is suggested.
Or docker://REF, an image in a registry (docker://alpine is docker.io/library/alpine:latest),
streamed from the registry (no --store needed; both kinds may be mixed).

Options:
  -s, --store DIR              The store: a containerd root (/var/lib/containerd; read without
                               the daemon), an OCI image layout, or containerd's content
                               directory (.../io.containerd.content.v1.content; by digest only),
                               or an archive file (plain tar) to re-export from
  -n, --namespace NS           With a containerd root: the namespace (default: default; k8s.io
                               for Kubernetes, moby for Docker's containerd image store)
  -o, --output FILE            Write to FILE (via a temporary file beside it, renamed into
                               place when complete; a device or FIFO is written in place, a
                               symbolic link's target is replaced); a name ending .gz or .tgz
                               is gzipped; '-' or no -o writes to stdout, which must not be a
                               terminal
      --platform P[,P...]      Select P from multi-platform images (repeatable, in order of
                               preference; default: exactly this machine's platform)
      --all-platforms          Include every platform's content (the --platform still picks
                               the manifest.json entry)
      --skip-manifest-json     Leave out Docker's manifest.json (OCI layout only)
      --skip-non-distributable Leave out non-distributable (foreign) layers
      --skip-missing           Leave out absent manifests, and the layers of a manifest with
                               absent content (for partially copied stores); an image whose
                               content is incomplete is left out of manifest.json, with a
                               warning
      --gzip                   Compress the whole archive with gzip (implied by -o *.gz, *.tgz)
      --plain-http             Use http, not https, for docker:// registries
  -u, --user USER[:PASSWORD]   Registry credentials (asks for the password on a terminal);
                               otherwise from docker/podman auth files
      --tlscacert FILE         Trust this CA certificate (PEM) for registries
      --skip-verify            Do not verify registries' TLS certificates (insecure)
  -q, --quiet                  No progress display
  -h, --help                   Show this help

Examples:
  ocipack export --store testdata/store -o hello.tar docker.io/library/hello:oci
  ocipack export --store testdata/store --platform linux/arm64 -o multi.tar example.com/multi:1.0
  ocipack export --store ./layout --all-platforms --gzip -o all.tar.gz app:1 app:2
  ocipack export --store ./layout app:1 | docker load
  ocipack export --store /var/lib/containerd -n moby -o app.tar app:1
  ocipack export --plain-http -o app.tar docker://127.0.0.1:5000/app:1
  ocipack export -u robot --platform linux/arm64 -o app.tar docker://registry.example/app:1
`;

const LIST_HELP = `Usage: ocipack list --store DIR [-n NS] [--json]
       ocipack list [registry options] docker://REPO | docker://REF

List the named images of a store: name, media type, digest, size for this machine's platform,
and platforms, as 'ctr images ls' does. For a containerd root without -n, list its namespaces
and how many images each has.

Options:
  -s, --store DIR   The store: a containerd root (/var/lib/containerd), an OCI image layout,
                    or an archive file
  -n, --namespace NS
                    With a containerd root: list the images of namespace NS
      --json        Print a JSON array instead of a table
  -h, --help        Show this help

Examples:
  ocipack list --store testdata/store
  ocipack list --store testdata/store --json
  ocipack list --store /var/lib/rancher/k3s/agent/containerd -n k8s.io
  ocipack list --plain-http docker://127.0.0.1:5000/app       (its tags)
  ocipack list --plain-http docker://127.0.0.1:5000/app:1     (its platforms)

The registry options of 'ocipack export' (--plain-http, -u, --tlscacert, --skip-verify) apply.
`;

/** A mistake in the command line: printed with a hint, exit code 2. */
class UsageError extends Error {
  constructor(message: string, readonly help: string) {
    super(message);
  }
}

/** The process was interrupted by a signal. */
class Interrupted extends Error {
  constructor(readonly signal: Deno.Signal) {
    super(`interrupted by ${signal}`);
  }
}

const encoder = new TextEncoder();

function printErr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

async function printOut(text: string): Promise<void> {
  await writeAll(Deno.stdout, encoder.encode(text));
}

function parse(args: string[], options: Record<string, ParseOption>, help: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ""), help);
  }
}

type ParseOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };

const REGISTRY_OPTIONS: Record<string, ParseOption> = {
  "plain-http": { type: "boolean" },
  user: { type: "string", short: "u" },
  tlscacert: { type: "string" },
  "skip-verify": { type: "boolean" },
};

function registryFlags(values: Record<string, unknown>): RegistryFlags {
  return {
    plainHttp: Boolean(values["plain-http"]),
    user: values.user as string | undefined,
    tlscacert: values.tlscacert as string | undefined,
    skipVerify: Boolean(values["skip-verify"]),
  };
}

const terminal = {
  warn: (text: string) => printErr(`ocipack: ${text}\n`),
  readPassword: readPasswordFromTerminal,
};

async function exportCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    store: { type: "string", short: "s" },
    namespace: { type: "string", short: "n" },
    output: { type: "string", short: "o" },
    platform: { type: "string", multiple: true },
    "all-platforms": { type: "boolean" },
    "skip-manifest-json": { type: "boolean" },
    "skip-non-distributable": { type: "boolean" },
    "skip-missing": { type: "boolean" },
    gzip: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
    ...REGISTRY_OPTIONS,
  }, EXPORT_HELP);
  if (values.help) return await printOut(EXPORT_HELP);
  const store = values.store as string | undefined;
  const remote = positionals.filter(isRegistryArgument);
  if (!store && remote.length < positionals.length) {
    throw new UsageError("missing --store DIR", EXPORT_HELP);
  }
  if (positionals.length === 0) throw new UsageError("missing IMAGE to export", EXPORT_HELP);
  let platforms: Platform[];
  try {
    platforms = parsePlatformList(values.platform as string[] | undefined ?? []);
  } catch (error) {
    throw new UsageError((error as Error).message, EXPORT_HELP);
  }
  const output = values.output as string | undefined;
  const toStdout = output === undefined || output === "-" || STDOUT_PATHS.has(output);
  if (toStdout && Deno.stdout.isTerminal()) {
    throw new UsageError(
      "refusing to write an archive to a terminal: use -o FILE or redirect stdout (> FILE)",
      EXPORT_HELP,
    );
  }
  const gzip = Boolean(values.gzip) || (!toStdout && /\.(gz|tgz)$/i.test(output));

  // The destination first: a path that cannot be written fails before any blob is read.
  const destination = toStdout ? undefined : await Destination.open(output);
  const progress = !values.quiet && Deno.stderr.isTerminal()
    ? new ProgressLine(printErr, { columns: terminalColumns })
    : undefined;
  const manifests: ManifestRequest[] = [];
  try {
    const namespace = values.namespace as string | undefined;
    const layout = store ? await openStore(store, namespace) : undefined;
    await using registry = remote.length > 0
      ? await openRegistryFromFlags(registryFlags(values), remote, signal, terminal)
      : undefined;
    manifests.push(...await resolveRequests(layout, registry, positionals));
    const provider = registry ? new RoutedStore(layout, registry) : layout!;
    const prepared = await prepareExport(provider, {
      manifests,
      platform: platforms.length > 0 ? platforms : defaultStrict(),
      allPlatforms: Boolean(values["all-platforms"]),
      skipDockerManifest: Boolean(values["skip-manifest-json"]),
      skipNonDistributable: Boolean(values["skip-non-distributable"]),
      skipMissing: Boolean(values["skip-missing"]),
      onProgress: progress ? (p: ExportProgress) => progress.update(p) : undefined,
    });
    for (const image of prepared.incomplete) printErr(`ocipack: ${incompleteWarning(image)}\n`);
    if (nothingLoadable(manifests, prepared.incomplete)) {
      throw new OcipackError(
        "Nothing to export that could be loaded: the content of every image asked for is " +
          "incomplete in the store (see above)",
      );
    }
    const archive = prepared.stream();
    const stream = gzip ? archive.pipeThrough(new CompressionStream("gzip")) : archive;
    const bufferSize = copyBufferSize(prepared.size, prepared.blobs);
    if (destination === undefined) await copyToWriter(stream, Deno.stdout, signal, bufferSize);
    else await destination.write(stream, signal, bufferSize);
  } catch (error) {
    progress?.clear();
    await destination?.discard();
    throw withHint(error, manifests);
  }
  progress?.finish();
}

/** Paths that name standard output; `-o` with one of them is `-o -`. */
const STDOUT_PATHS = new Set(["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]);

/** The terminal's width in columns, for the progress line; 80 when it cannot be told. */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

async function listCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    store: { type: "string", short: "s" },
    namespace: { type: "string", short: "n" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    ...REGISTRY_OPTIONS,
  }, LIST_HELP);
  if (values.help) return await printOut(LIST_HELP);
  if (positionals.length === 1 && isRegistryArgument(positionals[0]) && !values.store) {
    await using registry = await openRegistryFromFlags(
      registryFlags(values),
      positionals,
      signal,
      terminal,
    );
    const listing = await listRegistry(registry, positionals[0]);
    if (values.json) return await printOut(JSON.stringify(listing, null, 2) + "\n");
    if ("tags" in listing) return await printOut(listing.tags.map((t) => t + "\n").join(""));
    return await printOut(table([
      ["PLATFORM", "DIGEST", "TYPE", "SIZE"],
      ...listing.platforms.map((p) => [p.platform, p.digest, p.mediaType, formatBytes(p.size)]),
    ]));
  }
  if (!values.store) throw new UsageError("missing --store DIR", LIST_HELP);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, LIST_HELP);
  }
  const namespace = values.namespace as string | undefined;
  const namespaces = namespace === undefined
    ? await containerdNamespaces(values.store as string)
    : undefined;
  if (namespaces !== undefined) return await printOut(formatNamespaces(namespaces, !!values.json));
  const layout = await openStore(values.store as string, namespace);
  const images = await listImageSummaries(layout, only(hostPlatform()));
  const hint = images.length === 0 ? await emptyListingHint(values.store as string) : undefined;
  if (hint !== undefined) printErr(`ocipack: ${hint}\n`);
  if (values.json) return await printOut(JSON.stringify(images, null, 2) + "\n");
  const rows = [["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS"]];
  for (const i of images) {
    rows.push([
      i.name,
      i.mediaType,
      i.digest,
      i.size === undefined ? "-" : formatBytes(i.size),
      i.platforms.join(",") || "-",
    ]);
  }
  await printOut(table(rows));
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join(" ").trimEnd())
    .join("\n") + "\n";
}

/** Runs the command line; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const controller = new AbortController();
  const listeners: [Deno.Signal, () => void][] = (["SIGINT", "SIGTERM"] as const).map((s) => [
    s,
    () => controller.abort(new Interrupted(s)),
  ]);
  for (const [s, listener] of listeners) Deno.addSignalListener(s, listener);
  try {
    const [command, ...rest] = args;
    if (command === "--version" || command === "-V") {
      await printOut(`ocipack ${denoJson.version}\n`);
    } else if (command === undefined || command === "--help" || command === "-h") {
      await printOut(HELP);
    } else if (command === "export") {
      await exportCommand(rest, controller.signal);
    } else if (command === "list" || command === "ls") {
      await listCommand(rest, controller.signal);
    } else if (command === "verify" || command === "import") {
      const run = command === "verify" ? verifyCommand : importCommand;
      await run(rest, controller.signal, printOut).catch((error) => {
        throw error instanceof CommandUsageError
          ? new UsageError(error.message, error.help)
          : error;
      });
    } else {
      throw new UsageError(`unknown command ${JSON.stringify(command)}`, HELP);
    }
    return 0;
  } catch (error) {
    return report(controller.signal.aborted ? controller.signal.reason : error);
  } finally {
    for (const [s, listener] of listeners) Deno.removeSignalListener(s, listener);
  }
}

/** OCIPACK_DEBUG=1 prints stacks; it is read only when env access to it was granted. */
function debugEnabled(): boolean {
  const env = { name: "env", variable: "OCIPACK_DEBUG" } as const;
  return Deno.permissions.querySync(env).state === "granted" &&
    Deno.env.get("OCIPACK_DEBUG") === "1";
}

/** Prints one line for an error and returns the exit code. */
function report(error: unknown): number {
  if (error instanceof Interrupted) return error.signal === "SIGINT" ? 130 : 143;
  // The consumer closed the pipe (`| head`): stop quietly, as a SIGPIPE'd program would.
  if (error instanceof OutputError && error.cause instanceof Deno.errors.BrokenPipe) return 141;
  if (debugEnabled()) {
    printErr(`ocipack: ${(error as Error)?.stack ?? String(error)}\n`);
  } else if (error instanceof UsageError) {
    const command = error.help === HELP
      ? ""
      : error.help === LIST_HELP
      ? " list"
      : ` ${error.help.match(/^Usage: ocipack (\w+)/)?.[1] ?? "export"}`;
    printErr(`ocipack: ${error.message}\nTry 'ocipack${command} --help'.\n`);
  } else {
    printErr(`ocipack: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return error instanceof UsageError ? 2 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
