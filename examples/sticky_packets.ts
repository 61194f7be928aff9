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
import { analyzeReads, drawBoundaryPicture } from "./boundary_picture.ts";

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

function plural(n: number, word: string): string {
  return `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** Indents the lines of a picture by two spaces. */
function indent(lines: string[]): string {
  return lines.map((line) => line === "" ? "" : `  ${line}`).join("\n");
}

/** `r1 = 240 B, r2 = 80 B`, the first `max` reads. */
function readSizesLegend(sizes: number[], max = 8): string {
  const shown = sizes.slice(0, max).map((n, i) => `r${i + 1} = ${fmt(n)} B`).join(", ");
  return sizes.length > max ? `${shown}, … (${fmt(sizes.length - max)} more)` : shown;
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
  const sent = messages.map((m) => m.length);
  const { merged } = analyzeReads(sent, sizes);
  const title = nodelay === "on" ? "TCP_NODELAY set (Nagle off)" : "Nagle on (Deno's default)";
  console.log(
    `(a) ${messages.length} small writes, ${title}: ` +
      `${plural(messages.length, "message")} sent → ${plural(reads.length, "read")} ` +
      `(${plural(merged, "read")} held more than one message)`,
  );
  const picture = drawBoundaryPicture(sent, [{ label: `recv(${settings.buffer})`, reads: sizes }], {
    width: settings.width - 2,
    bytesPerColumn: 1,
    minSpan: 5,
    messageLabels: messages.map((_, i) => `msg${i}`),
  });
  console.log(indent(picture));
  console.log(`  (1 column = 1 byte; ${readSizesLegend(sizes)})\n`);
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
  const analysis = analyzeReads([message.length], sizes);
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
  // the first reads only: 1 MiB cannot be drawn at a scale where a 1,024-byte read shows
  const shownReads = Math.min(sizes.length, 4);
  const shownBytes = sizes.slice(0, shownReads).reduce((a, n) => a + n, 0);
  const readLabel = `recv(${settings.buffer})`;
  const maxSpan = settings.width - 2 - 1 - (readLabel.length + 1) - 1; // indent, "…", labels
  const bytesPerColumn = Math.max(1, Math.ceil(shownBytes / (maxSpan - 1)));
  const picture = drawBoundaryPicture([message.length], [{ label: readLabel, reads: sizes }], {
    width: settings.width - 2,
    bytesPerColumn,
    maxSpan,
    maxBytes: shownBytes,
    messageLabels: [`one message of ${fmt(message.length)} bytes`],
  });
  console.log(indent(picture));
  console.log(
    `  (the first ${shownReads} of ${plural(sizes.length, "read")}, ` +
      `1 column = ${plural(bytesPerColumn, "byte")}; ${plural(analysis.split, "message")} split, ` +
      `over ${plural(analysis.readsPerMessage[0], "read")})`,
  );
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
  const sent = messages.map((m) => m.length);
  const received = frames.map((f) => f.length);
  const picture = drawBoundaryPicture(sent, [{ label: "receive()", reads: received }], {
    width: settings.width - 2,
    bytesPerColumn: 1,
    minSpan: 5,
    messageLabels: messages.map((m, i) => i < settings.messages ? `msg${i}` : `${fmt(m.length)} B`),
  });
  console.log(indent(picture));
  const { whole } = analyzeReads(sent, received);
  console.log(
    `  (1 column = 1 byte, large messages shortened; ` +
      `${whole} of ${messages.length} messages arrived alone in one receive())`,
  );
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
