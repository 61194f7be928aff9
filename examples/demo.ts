// Copyright 2025 the sockkit authors. MIT license.
/**
 * The side-by-side demo: the same messages over raw TCP, framed TCP and UDP on loopback, and
 * what each receiver saw.
 *
 * Sent, in this order and back to back: 50 small messages (14–40 bytes), one of 65,507 bytes
 * (UDP's IPv4 limit), one of 1 MiB, and an empty one.
 *
 * - **TCP raw**: `Deno.connect` with Nagle on (Deno's default), every message written whole
 *   (`sendall`) with no pause between them; the receiver reads into a fresh 1,024-byte buffer
 *   each time, like the tutorial's `recv(1024)`. Small messages merge, large ones split, and the
 *   empty one is never sent at all (a 0-byte write sends nothing).
 * - **TCP framed**: `connectFramed` / `listenFramed`: a 4-byte length before each message. The
 *   socket reads underneath merge and split just the same; `receive()` still returns each
 *   message whole, the empty one included.
 * - **UDP**: `transmit()` sends each message as one datagram, back to back; the 1 MiB one is
 *   first offered to `DatagramSocket.send`, which refuses it with `DatagramTooLargeError`.
 *
 * ```sh
 * deno task demo            # = deno run --allow-net=127.0.0.1 examples/demo.ts
 * deno task demo --json
 * ```
 *
 * Permissions: `--allow-net=127.0.0.1` (loopback only) and `--unstable-net` for
 * `Deno.listenDatagram` (set by `"unstable": ["net"]` in `deno.json`). Nothing else.
 *
 * Exit codes: 0 everything behaved as described, 1 it did not (or a socket error, or the 14 s
 * deadline passed), 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { equalBytes } from "../framing/mod.ts";
import { writeAll } from "../tcp/mod.ts";
import { countSocketReads, openFramedPair } from "./_framed_pair.ts";
import {
  DatagramTooLargeError,
  MAX_UDP_PAYLOAD_IPV4,
  openDatagram,
  transmit,
  type TransmitReport,
} from "../udp/mod.ts";
import {
  analyzeReads,
  drawBoundaryPicture,
  type MessageOutcome,
  payloadReads,
  type ReadAnalysis,
} from "./boundary_picture.ts";

const USAGE = `Usage: deno task demo [--json]
   or: deno run --unstable-net --allow-net=127.0.0.1 examples/demo.ts [options]

Sends the same messages over raw TCP, framed TCP and UDP on loopback (127.0.0.1) and prints,
side by side, what each receiver saw: message boundaries kept or lost (merged and split
counts), the largest message, the empty message, loss and order; then a verdict per transport
and a picture of sent versus received boundaries.

Messages, back to back: 50 small (14-40 B), 65,507 B (UDP's IPv4 limit), 1 MiB, and an empty one.

Options:
  --json        print the same data as JSON instead
  --width N     width of the picture and table, 72 to 200 (default: the terminal's, or 100)
  -h, --help    show this help

Permissions: --allow-net=127.0.0.1 (loopback only) and --unstable-net (for
Deno.listenDatagram; "unstable": ["net"] in deno.json). Nothing else.

Exit codes: 0 everything behaved as described, 1 it did not (or a socket error, or the 14 s
deadline passed), 2 usage error.`;

const HOST = "127.0.0.1";
const SMALL_COUNT = 50;
const RAW_READ_BUFFER = 1024;
const LARGE = 1024 * 1024;
const DEADLINE_MS = 14_000;
const FRAME_HEADER = 4; // u32be, the default FrameOptions

const fmt = (n: number): string => n.toLocaleString("en-US");
const sizeName = (n: number): string => n === LARGE ? "1 MiB" : n === 0 ? "empty" : `${fmt(n)} B`;

// ---------------------------------------------------------------- the messages

function buildMessages(): Uint8Array[] {
  const text = new TextEncoder();
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const messages: Uint8Array[] = [];
  for (let i = 0; i < SMALL_COUNT; i++) {
    messages.push(text.encode(`msg${i}:${letters.slice(0, 8 + (i * 7) % 19)};`));
  }
  for (const size of [MAX_UDP_PAYLOAD_IPV4, LARGE]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
    messages.push(bytes);
  }
  messages.push(new Uint8Array(0));
  return messages;
}

// ---------------------------------------------------------------- the three runs

interface LargestMessage {
  /** Its size in bytes. */
  bytes: number;
  /** How it arrived. */
  arrived: "whole" | "split" | "refused" | "lost";
  /** Receives that held part of it. */
  receives: number;
}

interface EmptyMessage {
  sent: boolean;
  arrived: boolean;
  note: string;
}

interface Column {
  name: string;
  /** Receives that held two or more messages (UDP: datagrams that match no sent message). */
  receiver: string;
  receives: number;
  messagesSent: number;
  messagesWhole: number;
  boundariesKept: boolean;
  merged: number;
  /** Messages that came in two or more receives (UDP: datagrams that match no sent message). */
  split: number;
  largestMessage: LargestMessage;
  emptyMessage: EmptyMessage;
  lost: number;
  lostBytes: number;
  inOrder: boolean;
  verdict: "kept" | "merged" | "split" | "merged and split" | "broken";
  summary: string;
  elapsedMs: number;
}

interface RawColumn extends Column {
  nagle: true;
  readBufferSize: number;
  reads: number[];
  emptyWriteReturned: number;
}

interface FramedColumn extends Column {
  socketReads: number[];
  socketMerged: number;
  socketSplit: number;
}

interface Refusal {
  index: number;
  bytes: number;
  error: string;
  limit: number | undefined;
  message: string;
}

interface UdpColumn extends Column {
  refused: Refusal[];
  transmit: TransmitReport;
}

function boundaryVerdict(merged: number, split: number, kept: boolean): Column["verdict"] {
  if (merged > 0 && split > 0) return "merged and split";
  if (merged > 0) return "merged";
  if (split > 0) return "split";
  return kept ? "kept" : "broken";
}

function largestIndex(messages: Uint8Array[]): number {
  let best = 0;
  messages.forEach((m, i) => {
    if (m.length > messages[best].length) best = i;
  });
  return best;
}

/** Raw TCP: Nagle on, whole writes back to back, `recv(1024)` on the other side. */
async function runRawTcp(messages: Uint8Array[]): Promise<RawColumn> {
  const started = performance.now();
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  let client: Deno.TcpConn | undefined;
  let server: Deno.Conn | undefined;
  const reads: number[] = [];
  const chunks: Uint8Array[] = [];
  let emptyWriteReturned = -1;
  try {
    const accepting = listener.accept();
    client = await Deno.connect({ hostname: HOST, port: listener.addr.port });
    server = await accepting;
    const conn = server;
    const receiving = (async () => {
      for (;;) {
        const buffer = new Uint8Array(RAW_READ_BUFFER); // fresh each time, like recv(1024)
        const n = await conn.read(buffer);
        if (n === null) return;
        reads.push(n);
        chunks.push(buffer.subarray(0, n));
      }
    })();
    try {
      for (const message of messages) {
        if (message.length === 0) emptyWriteReturned = await client.write(message);
        else await writeAll(client, message);
      }
      await client.closeWrite();
    } finally {
      await receiving;
    }
  } finally {
    client?.close();
    server?.close();
    listener.close();
  }
  const sizes = messages.map((m) => m.length);
  const analysis: ReadAnalysis = analyzeReads(sizes, reads);
  // Order and loss: the bytes read, in order, must be the bytes written, in order.
  let inOrder = analysis.bytesRead === analysis.bytesSent;
  let offset = 0, chunk = 0, at = 0;
  for (const message of messages) {
    for (let i = 0; i < message.length && inOrder; i++, offset++) {
      while (chunk < chunks.length && at >= chunks[chunk].length) {
        chunk++;
        at = 0;
      }
      if (chunk >= chunks.length || chunks[chunk][at++] !== message[i]) inOrder = false;
    }
  }
  const big = largestIndex(messages);
  const lostBytes = Math.max(0, analysis.bytesSent - analysis.bytesRead);
  const verdict = boundaryVerdict(analysis.merged, analysis.split, analysis.boundariesKept);
  const kept = analysis.boundariesKept;
  return {
    name: "TCP raw",
    receiver: `${fmt(reads.length)} reads into recv(${fmt(RAW_READ_BUFFER)}); Nagle on`,
    receives: reads.length,
    messagesSent: messages.length,
    messagesWhole: analysis.whole,
    boundariesKept: kept,
    merged: analysis.merged,
    split: analysis.split,
    largestMessage: {
      bytes: messages[big].length,
      arrived: analysis.readsPerMessage[big] > 1 ? "split" : "whole",
      receives: analysis.readsPerMessage[big],
    },
    emptyMessage: {
      sent: false,
      arrived: false,
      note: `invisible: write() of 0 bytes returned ${emptyWriteReturned} and sent nothing`,
    },
    lost: 0,
    lostBytes,
    inOrder,
    verdict,
    summary: kept
      ? "boundaries kept this time (by luck: a stream does not promise it)"
      : `boundaries lost (黏包): ${fmt(analysis.merged)} read(s) merged messages, ${
        fmt(analysis.split)
      } message(s) split, the empty one vanished; the receiver cannot tell where one ends`,
    elapsedMs: performance.now() - started,
    nagle: true,
    readBufferSize: RAW_READ_BUFFER,
    reads,
    emptyWriteReturned,
  };
}

/** Framed TCP: `connectFramed` / `listenFramed`, with the server's socket reads counted. */
async function runFramedTcp(messages: Uint8Array[]): Promise<FramedColumn> {
  const started = performance.now();
  const socketReads: number[] = [];
  const frames: Uint8Array[] = [];
  {
    await using pair = await openFramedPair({ hostname: HOST });
    const { client, server } = pair;
    // Count the socket reads underneath the frames (the demo's only instrumentation).
    countSocketReads(server, socketReads);
    const receiving = (async () => {
      for await (const frame of server) frames.push(frame);
    })();
    try {
      for (const message of messages) await client.send(message);
      await client.closeWrite();
    } finally {
      await receiving;
    }
  }
  const sizes = messages.map((m) => m.length);
  const wire = analyzeReads(sizes.map((n) => n + FRAME_HEADER), socketReads);
  let whole = 0, inOrder = true, next = 0;
  const matched = messages.map(() => false);
  for (const frame of frames) {
    const index = messages.findIndex((m, i) => !matched[i] && equalBytes(m, frame));
    if (index < 0) continue;
    matched[index] = true;
    whole++;
    if (index < next) inOrder = false;
    next = index;
  }
  const big = largestIndex(messages);
  const emptyIndex = messages.findIndex((m) => m.length === 0);
  const kept = whole === messages.length && frames.length === messages.length;
  const lost = messages.length - whole;
  return {
    name: "TCP framed",
    receiver: `${fmt(frames.length)} frames from ${fmt(socketReads.length)} socket reads`,
    receives: frames.length,
    messagesSent: messages.length,
    messagesWhole: whole,
    boundariesKept: kept,
    merged: frames.length - whole,
    split: 0,
    largestMessage: {
      bytes: messages[big].length,
      arrived: matched[big] ? "whole" : "lost",
      receives: matched[big] ? 1 : 0,
    },
    emptyMessage: {
      sent: true,
      arrived: emptyIndex >= 0 && matched[emptyIndex],
      note: "arrived: a frame of 0 bytes (its header says 0)",
    },
    lost,
    lostBytes: messages.reduce((sum, m, i) => sum + (matched[i] ? 0 : m.length), 0),
    inOrder,
    verdict: kept ? "kept" : boundaryVerdict(frames.length - whole, 0, false),
    summary: kept
      ? `boundaries kept: ${fmt(whole)} of ${
        fmt(messages.length)
      } messages whole and in order, the empty one too, although the socket reads underneath merged ${
        fmt(wire.merged)
      } and split ${fmt(wire.split)}`
      : `only ${fmt(whole)} of ${fmt(messages.length)} messages arrived whole`,
    elapsedMs: performance.now() - started,
    socketReads,
    socketMerged: wire.merged,
    socketSplit: wire.split,
  };
}

/** UDP: each message one datagram; over-limit ones are offered to `send` and refused. */
async function runUdp(messages: Uint8Array[]): Promise<{ column: UdpColumn; sendable: number[] }> {
  const started = performance.now();
  const refused: Refusal[] = [];
  const sendable: number[] = [];
  {
    await using probe = openDatagram({ hostname: HOST, port: 0 });
    for (const [index, message] of messages.entries()) {
      if (message.length <= MAX_UDP_PAYLOAD_IPV4) {
        sendable.push(index);
        continue;
      }
      try {
        // Offered for real, to show the refusal (it happens before the OS sees it).
        await probe.send(message, probe.addr as Deno.NetAddr);
        throw new Error(`a ${fmt(message.length)}-byte datagram was not refused`);
      } catch (error) {
        if (!(error instanceof DatagramTooLargeError)) throw error;
        refused.push({
          index,
          bytes: message.length,
          error: error.name,
          limit: error.limit,
          message: error.message,
        });
      }
    }
  }
  const report = await transmit(sendable.map((i) => messages[i]), {
    hostname: HOST,
    mode: "burst",
    idleTimeout: 200,
  });
  const big = largestIndex(messages);
  const bigRefused = refused.some((r) => r.index === big);
  const kept = report.boundariesKept;
  const refusedText = refused.map((r) => `${sizeName(r.bytes)} refused`).join(", ");
  return {
    sendable,
    column: {
      name: "UDP",
      receiver: `${fmt(report.received)} datagrams from ${fmt(report.sent)} sends`,
      receives: report.received,
      messagesSent: report.sent,
      messagesWhole: report.whole,
      boundariesKept: kept,
      // A datagram holding two messages, or part of one, would match no sent message.
      merged: report.mismatched,
      split: report.mismatched,
      largestMessage: {
        bytes: messages[big].length,
        arrived: bigRefused
          ? "refused"
          : report.largestReceived === messages[big].length
          ? "whole"
          : "lost",
        receives: bigRefused ? 0 : 1,
      },
      emptyMessage: {
        sent: report.emptySent > 0,
        arrived: report.emptyReceived > 0,
        note: report.emptyReceived > 0
          ? "arrived: a datagram of 0 bytes"
          : "sent as a datagram of 0 bytes, but lost",
      },
      lost: report.lost,
      lostBytes: Math.max(0, report.bytesSent - report.bytesReceived),
      inOrder: report.inOrder,
      verdict: kept ? "kept" : "broken",
      summary: kept
        ? `boundaries kept: ${fmt(report.whole)} of ${fmt(report.sent)} datagrams whole${
          report.emptyReceived > 0 ? ", the empty one too" : ""
        }${
          report.lost > 0 ? `, ${fmt(report.lost)} lost without an error` : ""
        }; ${refusedText} (limit ${fmt(MAX_UDP_PAYLOAD_IPV4)} B)`
        : `${fmt(report.mismatched)} datagram(s) did not match a message`,
      elapsedMs: performance.now() - started,
      refused,
      transmit: report,
    },
  };
}

// ---------------------------------------------------------------- output

interface DemoReport {
  demo: "sockkit side-by-side";
  host: string;
  permissions: string[];
  messages: { count: number; small: number; sizes: number[]; totalBytes: number };
  columns: { tcpRaw: RawColumn; tcpFramed: FramedColumn; udp: UdpColumn };
  asExpected: boolean;
  problems: string[];
  picture: string[];
  elapsedMs: number;
}

const PERMISSIONS = [
  "--allow-net=127.0.0.1 (loopback only)",
  '--unstable-net (Deno.listenDatagram; "unstable": ["net"] in deno.json)',
];

function picture(
  messages: Uint8Array[],
  raw: RawColumn,
  framed: FramedColumn,
  udp: UdpColumn,
  udpSendable: number[],
  width: number,
): string[] {
  const sizes = messages.map((m) => m.length);
  const labels = sizes.map((n, i) => n === 0 ? "∅" : n > 1000 ? sizeName(n) : String(i));
  const udpOutcomes: MessageOutcome[] = messages.map((_, i) => {
    if (udp.refused.some((r) => r.index === i)) return "refused";
    if (!udpSendable.includes(i)) return "unknown";
    // transmit() counts losses without naming them
    return udp.lost === 0 ? "whole" : "unknown";
  });
  const framedOutcomes: MessageOutcome[] = messages.map(() =>
    framed.boundariesKept ? "whole" : "unknown"
  );
  return drawBoundaryPicture(sizes, [
    { label: "TCP raw: reads", reads: raw.reads },
    {
      label: "TCP framed: reads",
      reads: payloadReads(sizes, FRAME_HEADER, framed.socketReads),
    },
    { label: "  receive()", messages: framedOutcomes },
    { label: "UDP: receive()", messages: udpOutcomes },
  ], { width, messageLabels: labels, sentLabel: "sent" });
}

function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line === "") line = word;
    else if ([...line].length + 1 + [...word].length <= width) line += " " + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  // hard-wrap words longer than the column
  return lines.flatMap((l) => {
    const chars = [...l];
    const parts: string[] = [];
    for (let i = 0; i < chars.length; i += width) parts.push(chars.slice(i, i + width).join(""));
    return parts.length === 0 ? [""] : parts;
  });
}

function table(columns: Column[], width: number, style: Style): string[] {
  const labelWidth = 17;
  const columnWidth = Math.max(18, Math.floor((width - labelWidth) / columns.length) - 2);
  const largest = (c: Column): string => {
    const m = c.largestMessage;
    if (c.name === "UDP" && m.arrived === "refused") {
      const r = (c as UdpColumn).refused.find((x) => x.bytes === m.bytes);
      const max = (c as UdpColumn).transmit.largestReceived;
      return `${sizeName(m.bytes)} refused: ${r?.error} (limit ${
        fmt(r?.limit ?? MAX_UDP_PAYLOAD_IPV4)
      } B); the largest that arrived: ${fmt(max)} B`;
    }
    if (m.arrived === "split") return `${sizeName(m.bytes)} split over ${fmt(m.receives)} reads`;
    if (m.arrived === "whole") return `${sizeName(m.bytes)} whole, in 1 receive`;
    return `${sizeName(m.bytes)} ${m.arrived}`;
  };
  const rows: [string, (c: Column) => string, ((c: Column) => boolean)?][] = [
    ["receiver got", (c) => c.receiver],
    ["boundaries", (c) => c.boundariesKept ? "kept" : "lost", (c) => c.boundariesKept],
    [
      "merged",
      (c) =>
        c.name === "TCP framed"
          ? `none (underneath, ${fmt((c as FramedColumn).socketMerged)} socket reads did)`
          : c.name === "UDP"
          ? c.merged === 0
            ? "none: each datagram was one message"
            : `${fmt(c.merged)} datagrams matched no message`
          : `${fmt(c.merged)} reads held 2+ messages`,
      (c) => c.merged === 0,
    ],
    [
      "split",
      (c) =>
        c.name === "TCP framed"
          ? `none (underneath, ${fmt((c as FramedColumn).socketSplit)} messages were)`
          : c.name === "UDP"
          ? c.split === 0
            ? "none: each message in one datagram"
            : `${fmt(c.split)} datagrams matched no message`
          : `${fmt(c.split)} messages over 2+ reads`,
      (c) => c.split === 0,
    ],
    ["largest message", largest, (c) => c.largestMessage.arrived === "whole"],
    ["empty message", (c) => c.emptyMessage.note, (c) => c.emptyMessage.arrived],
    [
      "loss",
      (c) =>
        c.name === "TCP raw"
          ? c.lostBytes === 0 ? "none: every byte arrived" : `${fmt(c.lostBytes)} bytes missing`
          : c.lost === 0
          ? c.name === "UDP" ? "none this time (UDP may drop)" : "none"
          : `${fmt(c.lost)} messages lost`,
      (c) => c.lost === 0 && c.lostBytes === 0,
    ],
    [
      "order",
      (c) =>
        c.inOrder
          ? c.name === "TCP raw" ? "bytes in order" : "in order"
          : c.name === "TCP raw"
          ? "bytes differ"
          : "out of order",
      (c) => c.inOrder,
    ],
  ];
  const out: string[] = [];
  const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - [...s].length));
  out.push(
    style.bold(
      (pad("", labelWidth) + columns.map((c) => pad(c.name, columnWidth + 2)).join("")).trimEnd(),
    ),
  );
  for (const [label, text, ok] of rows) {
    const cells = columns.map((c) => wrapText(text(c), columnWidth));
    const height = Math.max(...cells.map((c) => c.length));
    for (let line = 0; line < height; line++) {
      let s = pad(line === 0 ? label : "", labelWidth);
      columns.forEach((c, i) => {
        const part = cells[i][line] ?? "";
        const painted = ok === undefined || part === "" ? part : ok(c) ? part : style.warn(part);
        s += painted + " ".repeat(Math.max(0, columnWidth + 2 - [...part].length));
      });
      out.push(s.trimEnd());
    }
  }
  return out;
}

interface Style {
  bold(s: string): string;
  good(s: string): string;
  bad(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
}

function makeStyle(color: boolean): Style {
  const sgr = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return {
    bold: sgr("1"),
    good: sgr("32"),
    bad: sgr("31"),
    warn: sgr("33"),
    dim: sgr("2"),
  };
}

function printReport(report: DemoReport, width: number, style: Style): void {
  const { tcpRaw, tcpFramed, udp } = report.columns;
  const m = report.messages;
  console.log(style.bold("sockkit demo: the same messages over TCP raw | TCP framed | UDP"));
  const say = (text: string, indent = "") => {
    for (const [i, line] of wrapText(text, width - indent.length).entries()) {
      console.log(i === 0 ? line : indent + line);
    }
  };
  say(`loopback only (${report.host}). Permissions: ${report.permissions.join("; ")}.`, "  ");
  say(
    `Sent back to back: ${m.small} small messages (14–40 B), ${
      fmt(MAX_UDP_PAYLOAD_IPV4)
    } B, 1 MiB and an empty one: ${fmt(m.count)} messages, ${fmt(m.totalBytes)} bytes.`,
    "  ",
  );
  console.log("");
  for (const line of table([tcpRaw, tcpFramed, udp], width, style)) console.log(line);
  console.log("");
  console.log(style.bold("Verdict"));
  for (const column of [tcpRaw, tcpFramed, udp]) {
    const mark = column.boundariesKept ? style.good("✔") : style.bad("✘");
    const lines = wrapText(column.summary, width - 16);
    console.log(`  ${mark} ${column.name.padEnd(11)} ${lines[0]}`);
    for (const line of lines.slice(1)) console.log(" ".repeat(16) + line);
  }
  console.log("");
  console.log(style.bold("Boundaries: sent messages above what each receiver got"));
  console.log(
    style.dim(
      "  | a sent message (index, or size; ∅ empty)  [ ] one receive: a read, a frame or a datagram\n" +
        "  [r3–66] or [×2]: several reads, too narrow to draw apart   ✘ refused or lost\n" +
        "  about 8 bytes per column; large messages drawn shortened",
    ),
  );
  console.log("");
  for (const line of report.picture) console.log(line);
  console.log("");
  if (report.asExpected) {
    const text = "All as described: a TCP stream loses message boundaries, a length prefix " +
      `restores them, UDP keeps them but refuses datagrams over ${fmt(MAX_UDP_PAYLOAD_IPV4)} B.`;
    for (const line of wrapText(text, width)) console.log(style.good(line));
  } else {
    for (const problem of report.problems) console.log(style.bad(`✘ ${problem}`));
  }
  console.log(style.dim(`(${fmt(Math.round(report.elapsedMs))} ms)`));
}

function problemsOf(raw: RawColumn, framed: FramedColumn, udp: UdpColumn): string[] {
  const problems: string[] = [];
  if (raw.merged === 0 && raw.split === 0) problems.push("raw TCP neither merged nor split");
  if (!raw.inOrder || raw.lostBytes > 0) problems.push("raw TCP bytes did not arrive intact");
  if (!framed.boundariesKept || !framed.inOrder) {
    problems.push("framed TCP did not deliver every message whole and in order");
  }
  if (!udp.boundariesKept) problems.push("UDP delivered datagrams that match no message");
  if (udp.refused.length === 0) problems.push("UDP did not refuse the 1 MiB message");
  return problems;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        json: { type: "boolean", default: false },
        width: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const tty = Deno.stdout.isTerminal();
  let width = 100;
  if (values.width !== undefined) {
    width = Number(values.width);
    if (!/^\d+$/.test(values.width) || width < 72 || width > 200) {
      console.error(`demo: --width must be an integer from 72 to 200, got "${values.width}"`);
      return 2;
    }
  } else if (tty && !values.json) {
    try {
      width = Math.max(72, Math.min(120, Deno.consoleSize().columns));
    } catch {
      // not a terminal after all
    }
  }
  const net = await Deno.permissions.query({ name: "net", host: HOST });
  if (net.state !== "granted") {
    console.error(`demo: needs --allow-net=${HOST}; run it as: deno task demo`);
    return 1;
  }

  const started = performance.now();
  const messages = buildMessages();
  const tcpRaw = await runRawTcp(messages);
  const tcpFramed = await runFramedTcp(messages);
  const { column: udp, sendable } = await runUdp(messages);
  const problems = problemsOf(tcpRaw, tcpFramed, udp);
  const report: DemoReport = {
    demo: "sockkit side-by-side",
    host: HOST,
    permissions: PERMISSIONS,
    messages: {
      count: messages.length,
      small: SMALL_COUNT,
      sizes: messages.map((m) => m.length),
      totalBytes: messages.reduce((sum, m) => sum + m.length, 0),
    },
    columns: { tcpRaw, tcpFramed, udp },
    asExpected: problems.length === 0,
    problems,
    picture: picture(messages, tcpRaw, tcpFramed, udp, sendable, width),
    elapsedMs: performance.now() - started,
  };
  if (values.json) {
    // one line per array of numbers (the read sizes run to a thousand entries)
    const json = JSON.stringify(report, null, 2).replace(
      /\[\s+(-?\d[\d.,\s-]*?)\s+\]/g,
      (_, body: string) => `[${body.split(/,\s*/).join(", ")}]`,
    );
    console.log(json);
  } else printReport(report, width, makeStyle(tty && !Deno.noColor));
  return report.asExpected ? 0 : 1;
}

if (import.meta.main) {
  const watchdog = setTimeout(() => {
    console.error(`demo: not finished after ${DEADLINE_MS / 1000} s; giving up`);
    Deno.exit(1);
  }, DEADLINE_MS);
  Deno.unrefTimer(watchdog);
  try {
    const code = await main();
    clearTimeout(watchdog);
    Deno.exit(code);
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
