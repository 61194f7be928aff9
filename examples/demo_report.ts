// Copyright 2025 the sockkit authors. MIT license.
/**
 * The demo's report: the three columns side by side, the verdicts and the boundary picture, for
 * a terminal (see `demo.ts`).
 *
 * @module
 */
import { MAX_UDP_PAYLOAD_IPV4 } from "../udp/mod.ts";
import { drawBoundaryPicture, type MessageOutcome, payloadReads } from "./boundary_picture.ts";
import {
  type Column,
  fmt,
  FRAME_HEADER,
  type FramedColumn,
  type RawColumn,
  sizeName,
  type UdpColumn,
} from "./demo_runs.ts";

export interface DemoReport {
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

export const PERMISSIONS = [
  "--allow-net=127.0.0.1 (loopback only)",
  '--unstable-net (Deno.listenDatagram; "unstable": ["net"] in deno.json)',
];

export function picture(
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

export function wrapText(text: string, width: number): string[] {
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

export function table(columns: Column[], width: number, style: Style): string[] {
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

export interface Style {
  bold(s: string): string;
  good(s: string): string;
  bad(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
}

export function makeStyle(color: boolean): Style {
  const sgr = (code: string) => (s: string) => color ? `\x1b[${code}m${s}\x1b[0m` : s;
  return {
    bold: sgr("1"),
    good: sgr("32"),
    bad: sgr("31"),
    warn: sgr("33"),
    dim: sgr("2"),
  };
}

export function printReport(report: DemoReport, width: number, style: Style): void {
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
