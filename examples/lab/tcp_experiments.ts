// Copyright 2025 the sockkit authors. MIT license.
/**
 * The lab's stream experiments: sticky packets (raw TCP beside framed TCP and UDP), one large
 * message split across reads, the empty message, and the ssh-like program's leftovers.
 *
 * @module
 */
import { analyzeReads, payloadReads } from "../boundary_picture.ts";
import {
  datagramRow,
  fmt,
  frameRow,
  makeMessage,
  makeMessages,
  plural,
  type Scope,
  sentRow,
  streamRow,
} from "./boxes.ts";
import { Random } from "../_random.ts";
import type { Experiment, Row, VerdictLine } from "./model.ts";
import { COMMON, SettingsError, type SizeRange } from "./settings.ts";
import { leftovers } from "./ssh_like.ts";
import { framedTcp, matchDatagrams, rawTcp, udpExchange } from "./transports.ts";

const FRAME_HEADER = 4; // u32be, the default FrameOptions
const MAX_READS = 8192;
const MAX_BYTES = 4 * 1024 * 1024;

function boundReads(bytes: number, buffer: number): void {
  if (bytes / buffer > MAX_READS) {
    throw new SettingsError(
      `buffer: ${fmt(bytes)} B read ${fmt(buffer)} B at a time is over ${
        fmt(MAX_READS)
      } reads; use a larger buffer or fewer bytes`,
    );
  }
}

/** The demo's verdict line for raw TCP. */
function rawLine(row: Row, emptyVanished: boolean): VerdictLine {
  const { merged, split } = row.counts;
  const kept = merged === 0 && split === 0 && !emptyVanished;
  return {
    ok: kept,
    name: "TCP raw",
    text: kept
      ? "boundaries kept this time (by luck: a stream does not promise it)"
      : `boundaries lost (黏包): ${fmt(merged)} read(s) merged messages, ${
        fmt(split)
      } message(s) split${
        emptyVanished ? ", the empty one vanished" : ""
      }; the receiver cannot tell where one ends`,
  };
}

/** The demo's verdict line for framed TCP. */
function framedLine(
  row: Row,
  socket: Row,
  exact: boolean,
  total: number,
): VerdictLine {
  return {
    ok: exact,
    name: "TCP framed",
    text: exact
      ? `boundaries kept: ${fmt(row.counts.whole)} of ${
        fmt(total)
      } messages whole and in order, although the socket reads underneath merged ${
        fmt(socket.counts.merged)
      } and split ${fmt(socket.counts.split)}`
      : `only ${fmt(row.counts.whole)} of ${fmt(total)} messages arrived whole`,
  };
}

/** The demo's verdict line for UDP. */
function udpLine(row: Row): VerdictLine {
  const { whole, sent, lost, unmatched } = row.counts;
  const kept = unmatched === 0;
  return {
    ok: kept,
    name: "UDP",
    text: kept
      ? `boundaries kept: ${fmt(whole)} of ${fmt(sent)} datagrams whole${
        lost > 0 ? `, ${fmt(lost)} lost without an error` : ""
      }`
      : `${fmt(unmatched)} datagram(s) did not match a message`,
  };
}

async function threeWays(
  messages: Uint8Array[],
  raw: { buffer: number; nagle: boolean; pause: number; readDelay: number },
  scope: Scope,
): Promise<{ rows: Row[]; lines: VerdictLine[]; rawRow: Row; ok: boolean }> {
  const sizes = messages.map((m) => m.length);
  const tcp = await rawTcp(messages, raw, scope);
  if (!tcp.intact) {
    throw new Error("raw TCP: the bytes read differ from the bytes written");
  }
  const framed = await framedTcp(messages, { pause: raw.pause }, scope);
  const udp = await udpExchange(messages, { pause: raw.pause }, scope);
  const rawRow = streamRow(
    "tcp-raw",
    `TCP raw: recv(${raw.buffer})`,
    sizes,
    tcp.reads,
  );
  const socketRow = streamRow(
    "tcp-framed-reads",
    "TCP framed: socket reads",
    sizes,
    payloadReads(sizes, FRAME_HEADER, framed.socketReads),
  );
  const wire = analyzeReads(
    sizes.map((n) => n + FRAME_HEADER),
    framed.socketReads,
  );
  socketRow.counts = {
    "socket reads": framed.socketReads.length,
    merged: wire.merged,
    split: wire.split,
  };
  const frames = frameRow(
    "tcp-framed",
    "TCP framed: receive()",
    sizes,
    framed.frames,
  );
  const seen = matchDatagrams(messages, udp.received).map((m, i) => ({
    ...m,
    size: udp.received[i].data.length,
  }));
  const udpRow = datagramRow("udp", "UDP: receive()", sizes, seen);
  const emptyVanished = sizes.includes(0);
  const lines = [
    rawLine(rawRow, emptyVanished),
    framedLine(frames, socketRow, framed.exact, messages.length),
    udpLine(udpRow),
  ];
  return {
    rows: [rawRow, socketRow, frames, udpRow],
    lines,
    rawRow,
    ok: framed.exact && lines[2].ok,
  };
}

const sticky: Experiment = {
  id: "sticky",
  title: "Sticky packets: raw TCP, framed TCP, UDP",
  claim: "TCP is a byte stream: small messages sent back to back arrive merged (黏包), " +
    "a length prefix restores them, UDP keeps them",
  settings: [
    COMMON.count(20, 500),
    COMMON.sizes("14-40", 1, 4096),
    COMMON.nagle("on"),
    COMMON.buffer(1024, 1, 65536),
    COMMON.pause(0),
    {
      name: "readDelay",
      label: "Receiver starts late",
      help: "milliseconds before the raw TCP receiver first reads (a late reader merges more)",
      kind: "int",
      min: 0,
      max: 1000,
      default: 0,
      unit: "ms",
    },
    COMMON.seed(),
  ],
  async run(values, scope) {
    const count = values.count as number, range = values.sizes as SizeRange;
    const buffer = values.buffer as number;
    if (count * range.max > 1024 * 1024) {
      throw new SettingsError(
        "count × sizes may be at most 1 MiB in this experiment",
      );
    }
    boundReads(count * range.max, buffer);
    const messages = makeMessages(
      count,
      range,
      new Random(values.seed as number),
    );
    const nagle = values.nagle === "on";
    const { rows, lines, rawRow, ok } = await threeWays(messages, {
      buffer,
      nagle,
      pause: values.pause as number,
      readDelay: values.readDelay as number,
    }, scope);
    const reproduced = ok && !lines[0].ok;
    const reads = rawRow.counts.reads;
    return {
      sent: sentRow(messages.map((m) => m.length)),
      rows,
      verdict: {
        reproduced,
        summary: reproduced
          ? `${plural(count, "message")} sent → ${
            plural(reads, "read")
          } on raw TCP (Nagle ${values.nagle}): ${
            fmt(rawRow.counts.merged)
          } held more than one message; framed TCP and UDP kept ` +
            "every boundary"
          : lines[0].ok
          ? `not reproduced this time: raw TCP gave each message its own read (${
            plural(reads, "read")
          }); try pause 0 or a late receiver`
          : "not reproduced: framed TCP or UDP did not keep the boundaries",
        lines,
      },
    };
  },
};

const large: Experiment = {
  id: "large",
  title: "A large message split across reads",
  claim: "one large send arrives in many reads of a small receive buffer",
  settings: [
    {
      name: "size",
      label: "Message size",
      help: "bytes of the one message",
      kind: "int",
      min: 1,
      max: MAX_BYTES,
      default: 262144,
      unit: "B",
    },
    COMMON.buffer(1024, 64, 65536),
  ],
  async run(values, scope) {
    const size = values.size as number, buffer = values.buffer as number;
    boundReads(size, buffer);
    const message = makeMessage(0, size);
    const tcp = await rawTcp(
      [message],
      { buffer, nagle: true, pause: 0 },
      scope,
    );
    if (!tcp.intact) {
      throw new Error("raw TCP: the bytes read differ from the bytes written");
    }
    const framed = await framedTcp([message], { pause: 0 }, scope);
    const writes = streamRow(
      "writes",
      "TCP raw: write() calls",
      [size],
      tcp.writes,
      "w",
    );
    writes.counts = { writes: tcp.writes.length, bytes: size };
    const rawRow = streamRow(
      "tcp-raw",
      `TCP raw: recv(${buffer})`,
      [size],
      tcp.reads,
    );
    const frames = frameRow(
      "tcp-framed",
      "TCP framed: receive()",
      [size],
      framed.frames,
    );
    const reads = rawRow.counts.reads;
    const reproduced = reads > 1 && framed.exact;
    return {
      sent: sentRow([size], [`one message of ${fmt(size)} B`]),
      rows: [writes, rawRow, frames],
      verdict: {
        reproduced,
        summary: reproduced
          ? `one message of ${fmt(size)} B (${plural(tcp.writes.length, "write() call")}) → ${
            plural(reads, "read")
          } of recv(${fmt(buffer)}); the bytes are all there, the boundary is not`
          : reads <= 1
          ? `not reproduced: the message fit in one read (buffer ${fmt(buffer)} B ≥ ${fmt(size)} B)`
          : "not reproduced: framed TCP did not return the message whole",
        lines: [
          {
            ok: reads <= 1,
            name: "TCP raw",
            text: `${fmt(size)} B split over ${plural(reads, "read")} (largest ${
              fmt(Math.max(...tcp.reads))
            } B)`,
          },
          {
            ok: framed.exact,
            name: "TCP framed",
            text: framed.exact ? `${fmt(size)} B whole, in 1 receive()` : "not whole",
          },
        ],
      },
    };
  },
};

const empty: Experiment = {
  id: "empty",
  title: "The empty message",
  claim: "an empty send is nothing on TCP, but a real (0-byte) datagram on UDP; " +
    "a frame of length 0 carries it on TCP",
  settings: [
    COMMON.count(3, 20),
    COMMON.sizes("5-12", 1, 1024),
    COMMON.pause(20),
    COMMON.seed(),
  ],
  async run(values, scope) {
    const count = Math.max(2, values.count as number);
    const messages = makeMessages(
      count,
      values.sizes as SizeRange,
      new Random(values.seed as number),
    );
    const at = Math.floor(count / 2);
    messages[at] = new Uint8Array(0);
    const { rows, lines, ok } = await threeWays(messages, {
      buffer: 1024,
      nagle: true,
      pause: values.pause as number,
      readDelay: 0,
    }, scope);
    const [rawRow, , frames, udp] = rows;
    const framedGot = frames.boxes.some((b) => b.mark === "whole" && b.messages[0] === at);
    const udpGot = udp.boxes.some((b) => b.mark === "whole" && b.messages[0] === at);
    const rawZero = rawRow.boxes.some((b) => b.size === 0);
    const reproduced = ok && framedGot && udpGot && !rawZero;
    lines[0] = {
      ok: false,
      name: "TCP raw",
      text:
        `the empty message (∅, number ${
          at + 1
        }) vanished: write() of 0 bytes sends nothing, no read ` +
        `returned 0 bytes before the end (${plural(rawRow.counts.reads, "read")})`,
    };
    lines[1].text += framedGot ? "; the empty one arrived as a frame of 0 bytes" : "";
    lines[2].text += udpGot ? "; the empty one arrived as a datagram of 0 bytes" : "";
    return {
      sent: sentRow(messages.map((m) => m.length)),
      rows,
      verdict: {
        reproduced,
        summary: reproduced
          ? `message ${
            at + 1
          } of ${count} (∅) was empty: raw TCP shows no trace of it, framed TCP and UDP ` +
            "delivered it as 0 bytes"
          : "not reproduced: the empty message did not behave as claimed",
        lines,
      },
    };
  },
};

/** The stream experiments. */
export const TCP_EXPERIMENTS: Experiment[] = [sticky, large, empty, leftovers];
