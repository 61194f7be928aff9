/**
 * Sticky packets (黏包) made visible: TCP is a byte stream, so message boundaries are lost.
 *
 * Runs a server and a client on 127.0.0.1 (port 0) and shows, with counts and drawings:
 * (a) small writes back-to-back arrive merged into fewer reads (with Nagle on, and off);
 * (b) one large message arrives split across many reads of a small receive buffer;
 * (c) the same traffic through `FramedConn` arrives exactly as sent.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/sticky_packets.ts [--messages 50] [--size 1048576]
 *   [--buffer 1024] [--nodelay both|on|off]
 * ```
 *
 * Exit codes: 0 done, 1 failure (e.g. framed traffic did not arrive as sent), 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FramedConn, writeAll } from "../tcp/mod.ts";
import { equalBytes } from "../framing/mod.ts";

const USAGE = `Usage: sticky_packets.ts [options]

Shows TCP's sticky-packet problem live on 127.0.0.1, then the cure (length-prefixed frames).

Options:
  --messages N   small messages written back-to-back in (a) and (c)   (default 50)
  --size BYTES   size of the one large message in (b) and (c)          (default 1048576)
  --buffer BYTES receive buffer per read, Python's recv(BYTES)          (default 1024)
  --nodelay M    Nagle in (a): "on" = TCP_NODELAY set (Nagle off), "off" = Nagle on,
                 "both" = show both                                    (default both)
  --width COLS   width of the drawings                                 (default 100)
  -h, --help     show this help

Exit codes: 0 done, 1 failure, 2 usage error.`;

interface Settings {
  messages: number;
  size: number;
  buffer: number;
  nodelay: ("off" | "on")[];
  width: number;
}

function parse(args: string[]): Settings | "help" {
  const { values } = parseArgs({
    args,
    options: {
      messages: { type: "string", default: "50" },
      size: { type: "string", default: "1048576" },
      buffer: { type: "string", default: "1024" },
      nodelay: { type: "string", default: "both" },
      width: { type: "string", default: "100" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const int = (name: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new RangeError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
  const mode = values.nodelay;
  if (mode !== "both" && mode !== "on" && mode !== "off") {
    throw new RangeError(`--nodelay must be both, on or off, got "${mode}"`);
  }
  return {
    messages: int("messages", values.messages, 1, 10_000),
    size: int("size", values.size, 1, 64 * 1024 * 1024),
    buffer: int("buffer", values.buffer, 1, 16 * 1024 * 1024),
    nodelay: mode === "both" ? ["off", "on"] : [mode],
    width: int("width", values.width, 40, 1000),
  };
}

const encoder = new TextEncoder();

/** The small messages: `msg0`, `msg1`, … */
function smallMessages(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => encoder.encode(`msg${i}`));
}

/** One large message with a recognisable pattern. */
function largeMessage(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 255;
  return bytes;
}

/**
 * Draws byte-stream segments at `scale` columns per byte: `|msg0|msg1|` for what was sent and
 * `[read 1 ……][read 2 …]` for what each read returned, wrapped in parallel rows.
 */
function drawRuler(
  sent: { label: string; length: number }[],
  reads: number[],
  width: number,
  scale = 2,
): string[] {
  const total = sent.reduce((a, s) => a + s.length, 0) * scale;
  const top = new Array<string>(total + 1).fill(" ");
  let at = 0;
  for (const s of sent) {
    top[at] = "|";
    const cells = s.length * scale;
    for (let i = 0; i < s.label.length && i + 1 < cells; i++) top[at + 1 + i] = s.label[i];
    at += cells;
  }
  top[total] = "|";
  const bottom = new Array<string>(total + 1).fill(" ");
  at = 0;
  for (const [i, n] of reads.entries()) {
    const label = `read ${i + 1} (${n} B)`;
    const cells = n * scale;
    bottom[at] = "[";
    for (let j = 1; j < cells; j++) bottom[at + j] = j - 1 < label.length ? label[j - 1] : "·";
    if (cells > 1) bottom[at + cells - 1] = "]";
    at += cells;
  }
  const lines: string[] = [];
  for (let start = 0; start < total + 1; start += width) {
    lines.push(`  sent  ${top.slice(start, start + width).join("")}`);
    lines.push(`  reads ${bottom.slice(start, start + width).join("")}`);
    lines.push("");
  }
  return lines;
}

function plural(n: number, word: string): string {
  return `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** Counts how many reads ended exactly at a message boundary, and how many messages were cut. */
function boundaries(sent: number[], reads: number[]): { merged: number; cut: number } {
  const ends = new Set<number>();
  let at = 0;
  for (const n of sent) ends.add(at += n);
  let merged = 0;
  let cut = 0;
  at = 0;
  let messageIndex = 0;
  let messageEnd = sent[0];
  for (const n of reads) {
    const start = at;
    at += n;
    let messagesEnding = 0;
    while (messageIndex < sent.length && messageEnd <= at) {
      messagesEnding++;
      messageIndex++;
      messageEnd += sent[messageIndex] ?? 0;
    }
    if (messagesEnding > 1 || (messagesEnding === 1 && !ends.has(start) && start !== 0)) merged++;
    if (!ends.has(at)) cut++;
  }
  return { merged, cut };
}

/** Accepts one connection and reads it to the end with a fixed buffer: Python's `recv(n)` loop. */
async function readAllRaw(listener: Deno.TcpListener, buffer: number): Promise<Uint8Array[]> {
  const conn = await listener.accept();
  const reads: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = new Uint8Array(buffer);
      const n = await conn.read(chunk);
      if (n === null) return reads;
      reads.push(chunk.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}

async function partA(settings: Settings, nodelay: "off" | "on"): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const receiving = readAllRaw(listener, settings.buffer);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  client.setNoDelay(nodelay === "on");
  const messages = smallMessages(settings.messages);
  try {
    // back-to-back, each write awaited, like the tutorial's client calling send() in a loop
    for (const message of messages) await writeAll(client, message);
  } finally {
    client.close();
  }
  const reads = await receiving;
  const sizes = reads.map((r) => r.length);
  const { merged } = boundaries(messages.map((m) => m.length), sizes);
  const title = nodelay === "on" ? "TCP_NODELAY set (Nagle off)" : "Nagle on (Deno's default)";
  console.log(
    `(a) ${messages.length} small writes, ${title}: ` +
      `${plural(messages.length, "message")} sent → ${plural(reads.length, "read")} ` +
      `(${plural(merged, "read")} held more than one message)`,
  );
  console.log(
    drawRuler(
      messages.map((m, i) => ({ label: `msg${i}`, length: m.length })),
      sizes,
      settings.width,
    ).join("\n"),
  );
}

async function partB(settings: Settings): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const receiving = readAllRaw(listener, settings.buffer);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const message = largeMessage(settings.size);
  let writes = 0;
  try {
    let offset = 0;
    while (offset < message.length) {
      offset += await client.write(message.subarray(offset));
      writes++;
    }
  } finally {
    client.close();
  }
  const reads = await receiving;
  const sizes = reads.map((r) => r.length);
  const histogram = new Map<number, number>();
  for (const n of sizes) histogram.set(n, (histogram.get(n) ?? 0) + 1);
  const common = [...histogram.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4)
    .map(([n, count]) => `${count} × ${n} B`).join(", ");
  console.log(
    `(b) one message of ${fmt(message.length)} bytes (${writes} write call${
      writes === 1 ? "" : "s"
    }), read with recv(${settings.buffer}): it arrived split across ${fmt(reads.length)} reads` +
      ` (${common}${histogram.size > 4 ? ", …" : ""})`,
  );
  // the first reads, at one column per 32 bytes
  const scale = 32;
  const shown: number[] = [];
  let columns = 0;
  for (const n of sizes) {
    const cells = Math.max(1, Math.round(n / scale));
    if (columns + cells > settings.width) break;
    shown.push(cells);
    columns += cells;
  }
  let bottom = "";
  for (const [i, cells] of shown.entries()) {
    const label = `read ${i + 1}`;
    bottom += cells === 1 ? "[" : ("[" + label + "·".repeat(cells)).slice(0, cells - 1) + "]";
  }
  const top = ("|one message of " + fmt(message.length) + " bytes " + "=".repeat(columns))
    .slice(0, columns) + "…";
  console.log(`  sent  ${top}`);
  console.log(`  reads ${bottom}… ${fmt(reads.length - shown.length)} more reads`);
  console.log(`        (the first ${shown.length} reads, 1 column = ${scale} bytes)`);
  const same = equalBytes(concat(reads), message);
  console.log(
    `  the bytes are all there (${same ? "identical" : "DIFFERENT"}); the boundary is not\n`,
  );
  if (!same) throw new Error("part (b): the bytes differ");
}

async function partC(settings: Settings): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const messages = [...smallMessages(settings.messages), largeMessage(settings.size)];
  const receiving = (async () => {
    await using server = new FramedConn(await listener.accept(), {
      maxFrameLength: Math.max(settings.size, 1024),
    });
    const frames: Uint8Array[] = [];
    for await (const frame of server) frames.push(frame);
    return frames;
  })();
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await using client = new FramedConn(raw, { maxFrameLength: Math.max(settings.size, 1024) });
  for (const message of messages) await client.send(message);
  await client.closeWrite();
  const frames = await receiving;
  const exact = frames.length === messages.length &&
    frames.every((frame, i) => equalBytes(frame, messages[i]));
  console.log(
    `(c) the same traffic through FramedConn: ${messages.length} messages sent → ` +
      `${frames.length} frames received, ${exact ? "each exactly as sent" : "NOT as sent"}`,
  );
  const shown = Math.min(messages.length - 1, 10);
  const big = `${fmt(settings.size)} B`;
  let sentRow = "";
  let receivedRow = "";
  for (let i = 0; i < shown; i++) {
    const label = new TextDecoder().decode(frames[i] ?? new Uint8Array());
    sentRow += `|${`msg${i}`.padEnd(label.length)} `;
    receivedRow += `[${label}]`;
  }
  console.log(`  sent     ${sentRow}… |${big} |`);
  console.log(`  received ${receivedRow}… [${fmt(frames.at(-1)?.length ?? 0)} B]`);
  console.log(
    "  (each frame carries a 4-byte length header; the receiver reads exactly that many bytes)",
  );
  if (!exact) throw new Error("part (c): framed traffic did not arrive as sent");
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

async function main(args: string[]): Promise<number> {
  let settings: Settings | "help";
  try {
    settings = parse(args);
  } catch (error) {
    console.error(`sticky_packets: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === "help") {
    console.log(USAGE);
    return 0;
  }
  try {
    for (const mode of settings.nodelay) await partA(settings, mode);
    await partB(settings);
    await partC(settings);
    return 0;
  } catch (error) {
    console.error(`sticky_packets: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
