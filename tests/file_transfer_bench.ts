/**
 * File transfer throughput on the loopback, beside raw TCP in the same run: a 1 GiB file, sender
 * and receiver in separate processes (as in real use), timed by the receiver from the accepted
 * connection to the verified, fsynced, renamed file. Prints a table with ratios to raw TCP, plus
 * each process's peak RSS (Linux `VmHWM`).
 *
 * `deno task bench file_transfer`, or run it alone:
 * `deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run --allow-sys --allow-env tests/file_transfer_bench.ts [MiB]`
 *
 * @module
 */

import { receiveFiles, sendFiles } from "../tcp/mod.ts";
import { writeAll } from "../tcp/write_all.ts";

const SELF = new URL(import.meta.url).pathname;
const CHUNK = 1024 * 1024;

/** Peak RSS of this process, sampled every 10 ms (reading `/proc/self` needs --allow-all). */
let peak = 0;
function sampleRss(): void {
  peak = Math.max(peak, Deno.memoryUsage().rss);
}
function peakRss(): number {
  sampleRss();
  return peak;
}

/** Child roles: each prints one JSON line on stdout. */
async function child(role: string, args: string[]): Promise<void> {
  const sampler = setInterval(sampleRss, 10);
  try {
    await childRole(role, args);
  } finally {
    clearInterval(sampler);
  }
}

async function childRole(role: string, args: string[]): Promise<void> {
  if (role.endsWith("-recv")) {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    console.log(JSON.stringify({ port: listener.addr.port }));
    using conn = await listener.accept();
    const started = performance.now();
    let bytes = 0;
    if (role === "raw-recv" || role === "rawfile-recv") {
      using file = role === "rawfile-recv"
        ? await Deno.open(`${args[0]}/raw.bin`, { write: true, create: true, truncate: true })
        : undefined;
      for (;;) {
        const buffer = new Uint8Array(256 * 1024);
        const n = await conn.read(buffer);
        if (n === null) break;
        bytes += n;
        if (file) await writeAll(file, buffer.subarray(0, n));
      }
      await file?.sync();
    } else {
      const wire = role === "seed-recv" ? "seed" : "sockkit";
      const [result] = await receiveFiles(conn, { dir: args[0], wire, overwrite: true });
      if (!result?.ok) throw new Error(`receive failed: ${result?.error?.message}`);
      bytes = result.size;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ bytes, seconds, rss: peakRss() }));
    return;
  }
  const [port, path, size] = [Number(args[0]), args[1], Number(args[2])];
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (role === "raw-send") {
    const buffer = new Uint8Array(CHUNK).fill(0x5a);
    for (let sent = 0; sent < size; sent += CHUNK) await writeAll(conn, buffer);
  } else if (role === "rawfile-send") {
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(CHUNK);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      await writeAll(conn, buffer.subarray(0, n));
    }
  } else {
    const wire = role === "seed-send" ? "seed" : "sockkit";
    const [result] = await sendFiles(conn, [path], { wire });
    if (!result.ok) throw new Error(`send failed: ${result.error?.message}`);
  }
  console.log(JSON.stringify({ rss: peakRss() }));
}

function spawnRole(role: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      SELF,
      "--role",
      role,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<[string, Promise<string>]> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("child exited early");
    text += value;
  }
  const newline = text.indexOf("\n");
  const rest = (async () => {
    let more = text.slice(newline + 1);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return more;
      more += value;
    }
  })();
  return [text.slice(0, newline), rest];
}

interface Run {
  seconds: number;
  bytes: number;
  recvRss?: number;
  sendRss?: number;
}

async function run(kind: string, dir: string, path: string, size: number): Promise<Run> {
  // Flush the previous run's dirty pages so that it does not slow this one's fsync down.
  await new Deno.Command("sync").output().catch(() => {});
  const receiver = spawnRole(`${kind}-recv`, [dir]);
  const [portLine, rest] = await firstLine(receiver.stdout);
  const { port } = JSON.parse(portLine);
  const sender = spawnRole(`${kind}-send`, [String(port), path, String(size)]);
  const deadline = setTimeout(() => {
    for (const p of [receiver, sender]) {
      try {
        p.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  }, 60_000);
  const [sent, receivedStatus, received] = await Promise.all([
    sender.output(),
    receiver.status,
    rest,
  ]);
  clearTimeout(deadline);
  if (!sent.success || !receivedStatus.success) throw new Error(`${kind}: a child failed`);
  const result = JSON.parse(received.trim());
  const sendInfo = JSON.parse(new TextDecoder().decode(sent.stdout).trim());
  return {
    seconds: result.seconds,
    bytes: result.bytes,
    recvRss: result.rss,
    sendRss: sendInfo.rss,
  };
}

async function main(): Promise<void> {
  const mib = Number(Deno.args[0] ?? 1024);
  const size = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "sockkit-ft-bench-" });
  try {
    const path = `${dir}/source.bin`;
    {
      using file = await Deno.open(path, { write: true, create: true });
      const block = new Uint8Array(CHUNK);
      for (let i = 0; i < CHUNK; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
      for (let written = 0; written < size; written += CHUNK) {
        block[0] = written / CHUNK; // every block differs
        await writeAll(file, block);
      }
    }
    await Deno.mkdir(`${dir}/out`);
    const rows: [string, string][] = [
      ["raw", "raw TCP, memory → memory"],
      ["rawfile", "raw TCP, file → file (no hash, fsync)"],
      ["sockkit", "sendFiles/receiveFiles, sockkit wire (SHA-256 ×2, fsync, rename)"],
      ["seed", "sendFiles/receiveFiles, seed wire (receiver hashes, fsync, rename)"],
    ];
    const results = new Map<string, Run>();
    // Two rounds, interleaved; the better of the two counts (the machine is shared).
    for (let round = 0; round < 2; round++) {
      for (const [kind] of rows) {
        const r = await run(kind, `${dir}/out`, path, size);
        if (r.bytes !== size) throw new Error(`${kind}: got ${r.bytes} of ${size} bytes`);
        const best = results.get(kind);
        if (best === undefined || r.seconds < best.seconds) results.set(kind, r);
      }
    }
    const raw = results.get("raw")!;
    const rate = (r: Run) => r.bytes / r.seconds / 1e6;
    const mb = (n?: number) => n === undefined ? "?" : `${(n / 1e6).toFixed(0)} MB`;
    console.log(
      `file transfer of ${mib} MiB on 127.0.0.1, sender and receiver in two processes (best of 2)`,
    );
    console.log(
      "| what | MB/s | × raw TCP | seconds | peak RSS sender | peak RSS receiver |\n" +
        "| ---- | ---: | --------: | ------: | --------------: | ----------------: |",
    );
    for (const [kind, label] of rows) {
      const r = results.get(kind)!;
      console.log(
        `| ${label} | ${rate(r).toFixed(0)} | ${(rate(r) / rate(raw)).toFixed(2)} | ${
          r.seconds.toFixed(2)
        } | ${mb(r.sendRss)} | ${mb(r.recvRss)} |`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const roleAt = Deno.args.indexOf("--role");
  if (roleAt >= 0) {
    await child(Deno.args[roleAt + 1], Deno.args.slice(roleAt + 2));
  } else {
    await main();
  }
}
