// Copyright 2025 the sockkit authors. MIT license.
/**
 * The demo's three runs: the same messages over raw TCP, framed TCP and UDP on loopback, and
 * what each receiver saw, as data (see `demo.ts`).
 *
 * @module
 */
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
import { analyzeReads, type ReadAnalysis } from "./boundary_picture.ts";

export const HOST = "127.0.0.1";
export const SMALL_COUNT = 50;
const RAW_READ_BUFFER = 1024;
export const LARGE = 1024 * 1024;
export const FRAME_HEADER = 4; // u32be, the default FrameOptions

export const fmt = (n: number): string => n.toLocaleString("en-US");
export const sizeName = (n: number): string =>
  n === LARGE ? "1 MiB" : n === 0 ? "empty" : `${fmt(n)} B`;

// ---------------------------------------------------------------- the messages

export function buildMessages(): Uint8Array[] {
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

export interface LargestMessage {
  /** Its size in bytes. */
  bytes: number;
  /** How it arrived. */
  arrived: "whole" | "split" | "refused" | "lost";
  /** Receives that held part of it. */
  receives: number;
}

export interface EmptyMessage {
  sent: boolean;
  arrived: boolean;
  note: string;
}

export interface Column {
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

export interface RawColumn extends Column {
  nagle: true;
  readBufferSize: number;
  reads: number[];
  emptyWriteReturned: number;
}

export interface FramedColumn extends Column {
  socketReads: number[];
  socketMerged: number;
  socketSplit: number;
}

export interface Refusal {
  index: number;
  bytes: number;
  error: string;
  limit: number | undefined;
  message: string;
}

export interface UdpColumn extends Column {
  refused: Refusal[];
  transmit: TransmitReport;
}

export function boundaryVerdict(merged: number, split: number, kept: boolean): Column["verdict"] {
  if (merged > 0 && split > 0) return "merged and split";
  if (merged > 0) return "merged";
  if (split > 0) return "split";
  return kept ? "kept" : "broken";
}

export function largestIndex(messages: Uint8Array[]): number {
  let best = 0;
  messages.forEach((m, i) => {
    if (m.length > messages[best].length) best = i;
  });
  return best;
}

/** Raw TCP: Nagle on, whole writes back to back, `recv(1024)` on the other side. */
export async function runRawTcp(messages: Uint8Array[]): Promise<RawColumn> {
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
export async function runFramedTcp(messages: Uint8Array[]): Promise<FramedColumn> {
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
export async function runUdp(
  messages: Uint8Array[],
): Promise<{ column: UdpColumn; sendable: number[] }> {
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

export function problemsOf(raw: RawColumn, framed: FramedColumn, udp: UdpColumn): string[] {
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
