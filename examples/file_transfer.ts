/**
 * Sends and receives files over TCP: the tutorial's big-file transfer, made safe.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-sys=statfs \
 *   --allow-env=NO_COLOR examples/file_transfer.ts receive --listen 127.0.0.1:9527 --dir ./inbox
 * deno run --allow-net=127.0.0.1 --allow-read examples/file_transfer.ts \
 *   send big.iso notes.txt --connect 127.0.0.1:9527
 * ```
 *
 * Either side may listen or connect. Exit codes: 0 every file done, 1 a transfer failed, 2 usage
 * error. Run with `--help` for the options.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  escapeFileName,
  type FileProgress,
  type FileTransferResult,
  type FileWire,
  receiveFiles,
  sendFiles,
} from "../tcp/mod.ts";

const USAGE = `Usage:
  file_transfer.ts send FILE... (--listen HOST:PORT | --connect HOST:PORT) [options]
  file_transfer.ts receive (--listen HOST:PORT | --connect HOST:PORT) [--dir DIR] [--overwrite] [options]

Either side may listen or connect; a listener takes one connection. With --listen and port 0
the chosen port is printed on stderr ("listening on HOST:PORT").

Options:
  --wire sockkit|seed  sockkit (default): several files per connection, SHA-256 verified,
                       acknowledged and resumable. seed: the tutorial's exact layout
                       (int32 little-endian length, JSON {"filename","filesize"}, bytes, close):
                       one file, no hash, no acknowledgement; talks to the tutorial's Python code.
  --dir DIR            receive into DIR (default: the current directory); it must exist
  --overwrite          replace a file that already exists (default: refuse it)
  --no-resume          receive: discard partial data of an interrupted transfer
  --timeout SECONDS    fail after this long without progress on the connection (default 30)
  --progress           draw the progress bar even when stderr is not a terminal
  --quiet              print nothing but errors
  -h, --help           show this help

Exit codes: 0 every file done, 1 a transfer failed, 2 usage error.
`;

/** Exit code: every file transferred. */
export const EXIT_OK = 0;
/** Exit code: a transfer failed (refused, corrupt, interrupted, cannot connect). */
export const EXIT_FAILED = 1;
/** Exit code: bad command line. */
export const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Endpoint {
  hostname: string;
  port: number;
}

function parseEndpoint(flag: string, value: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`${flag} needs HOST:PORT, got "${value}"`);
  return { hostname: match[1] ?? match[2], port };
}

function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${unit}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A one-line progress bar on stderr: bytes, percent, rate, ETA. */
class ProgressBar {
  #color: boolean;
  #last = 0;
  #start = 0;
  #name = "";
  #phase = "";
  #startBytes = 0;
  #drawn = false;

  constructor(color: boolean) {
    this.#color = color;
  }

  update(p: FileProgress): void {
    const now = performance.now();
    if (p.name !== this.#name || p.phase !== this.#phase) {
      this.#name = p.name;
      this.#phase = p.phase;
      this.#start = now;
      this.#startBytes = p.phase === "hashing" ? 0 : p.offset;
    } else if (now - this.#last < 100 && p.done < p.total) {
      return;
    }
    this.#last = now;
    const fraction = p.total === 0 ? 1 : p.done / p.total;
    const elapsed = (now - this.#start) / 1000;
    const rate = elapsed > 0 ? (p.done - this.#startBytes) / elapsed : 0;
    const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
    const width = 24;
    const filled = Math.round(fraction * width);
    let bar = "#".repeat(filled) + "-".repeat(width - filled);
    if (this.#color) {
      bar = `\x1b[36m${"#".repeat(filled)}\x1b[2m${"-".repeat(width - filled)}\x1b[0m`;
    }
    const line = `${p.phase === "hashing" ? "hashing" : p.phase === "sending" ? "send" : "recv"} ${
      escapeFileName(p.name)
    } [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(p.done)}/${
      formatBytes(p.total)
    } ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
    this.#drawn = false;
  }
}

async function connectOrAccept(
  listen: Endpoint | undefined,
  connect: Endpoint | undefined,
  quiet: boolean,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  if (listen !== undefined) {
    using listener = Deno.listen({ hostname: listen.hostname, port: listen.port });
    const addr = listener.addr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    if (!quiet) console.error(`listening on ${host}:${addr.port}`);
    return await listener.accept();
  }
  const target = connect!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Deno.connect({ hostname: target.hostname, port: target.port }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`connecting to ${target.hostname}:${target.port} timed out`)),
          timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an environment variable may be read (without prompting). */
function envGranted(variable: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable }).state === "granted";
}

function report(results: FileTransferResult[], verb: string, quiet: boolean): boolean {
  let ok = true;
  for (const r of results) {
    if (r.ok) {
      if (quiet) continue;
      const resumed = r.resumedFrom > 0 ? `, resumed at ${r.resumedFrom}` : "";
      const where = verb === "received" ? ` -> ${escapeFileName(r.path)}` : "";
      console.log(
        `${verb} ${escapeFileName(r.name)}${where} ${r.size} bytes${
          r.sha256 ? ` sha256 ${r.sha256}` : ""
        }${resumed}`,
      );
    } else {
      ok = false;
      const name = r.name === "" ? "" : ` ${escapeFileName(r.name)}`;
      console.error(`failed${name}: ${r.error?.code}: ${r.error?.message}`);
    }
  }
  return ok;
}

/**
 * Runs the command line.
 *
 * @param args The arguments (without the program name).
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        listen: { type: "string" },
        connect: { type: "string" },
        wire: { type: "string", default: "sockkit" },
        dir: { type: "string", default: "." },
        overwrite: { type: "boolean", default: false },
        "no-resume": { type: "boolean", default: false },
        timeout: { type: "string", default: "30" },
        progress: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  let command: string;
  let listen: Endpoint | undefined;
  let connect: Endpoint | undefined;
  let timeoutMs: number;
  const files = positionals.slice(1);
  try {
    command = positionals[0];
    if (command !== "send" && command !== "receive") {
      throw new UsageError(
        command === undefined ? "missing command" : `unknown command "${command}"`,
      );
    }
    if ((values.listen === undefined) === (values.connect === undefined)) {
      throw new UsageError("give exactly one of --listen HOST:PORT and --connect HOST:PORT");
    }
    if (values.listen !== undefined) listen = parseEndpoint("--listen", values.listen);
    if (values.connect !== undefined) connect = parseEndpoint("--connect", values.connect);
    if (values.wire !== "sockkit" && values.wire !== "seed") {
      throw new UsageError(`--wire must be sockkit or seed, got "${values.wire}"`);
    }
    if (values.progress && values.quiet) throw new UsageError("--progress and --quiet conflict");
    const seconds = Number(values.timeout);
    if (!(seconds >= 0) || !Number.isFinite(seconds)) {
      throw new UsageError(`--timeout needs a number of seconds, got "${values.timeout}"`);
    }
    timeoutMs = seconds * 1000;
    if (command === "send") {
      if (files.length === 0) throw new UsageError("send needs at least one FILE");
      if (values.wire === "seed" && files.length > 1) {
        throw new UsageError("--wire seed carries one file per connection; use --wire sockkit");
      }
      if (values.overwrite || values["no-resume"] || values.dir !== ".") {
        throw new UsageError("--dir, --overwrite and --no-resume are options of receive");
      }
    } else if (files.length > 0) {
      throw new UsageError(`receive takes no FILE arguments (got ${files.length})`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command === "receive") {
    try {
      if (!(await Deno.stat(values.dir)).isDirectory) throw new Error("not a directory");
    } catch (error) {
      console.error(`--dir ${values.dir}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
  }

  const quiet = values.quiet;
  const showBar = !quiet && (values.progress || Deno.stderr.isTerminal());
  const noColor = envGranted("NO_COLOR") && (Deno.env.get("NO_COLOR") ?? "") !== "";
  const bar = showBar ? new ProgressBar(Deno.stderr.isTerminal() && !noColor) : undefined;
  const onProgress = bar ? (p: FileProgress) => bar.update(p) : undefined;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let started = 0;
  let conn: Deno.TcpConn | undefined;
  try {
    try {
      conn = await connectOrAccept(listen, connect, quiet, timeoutMs);
    } catch (error) {
      console.error(`cannot connect: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    started = performance.now();
    const common = {
      wire: values.wire as FileWire,
      idleTimeout: timeoutMs,
      signal: controller.signal,
      onProgress,
    };
    const results = command === "send"
      ? await sendFiles(conn, files, common)
      : await receiveFiles(conn, {
        ...common,
        dir: values.dir,
        overwrite: values.overwrite,
        resume: !values["no-resume"],
      });
    bar?.clear();
    const ok = report(results, command === "send" ? "sent" : "received", quiet);
    if (!quiet) {
      const seconds = (performance.now() - started) / 1000;
      const bytes = results.reduce((n, r) => n + r.transferred, 0);
      const good = results.filter((r) => r.ok).length;
      console.error(
        `${good} of ${results.length} file(s) ${command === "send" ? "sent" : "received"}, ${
          formatBytes(bytes)
        } in ${seconds.toFixed(2)} s (${formatBytes(bytes / seconds)}/s)`,
      );
    }
    return ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    bar?.clear();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    try {
      conn?.close();
    } catch {
      // closed by a timeout or an abort
    }
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
