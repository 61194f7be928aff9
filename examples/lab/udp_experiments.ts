// Copyright 2025 the sockkit authors. MIT license.
/**
 * The lab's datagram experiments: UDP's size limit, truncation into a small receive buffer,
 * and loss, reordering and duplication through a seeded impairment relay.
 *
 * @module
 */
import { MAX_UDP_PAYLOAD_IPV4, startUdpRelay, type UdpRelayStats } from "../../udp/mod.ts";
import {
  datagramRow,
  type DatagramSeen,
  fmt,
  makeMessage,
  makeMessages,
  plural,
  sentRow,
} from "./boxes.ts";
import { Random } from "../_random.ts";
import type { Experiment, Row, VerdictLine } from "./model.ts";
import { COMMON, type SettingDef, SettingsError, type SizeRange } from "./settings.ts";
import { matchDatagrams, udpExchange, type UdpResult } from "./transports.ts";

/** The setting of the datagrams' sizes: a list of up to `maxItems` sizes of 0 to `max` bytes. */
const datagramSizes = (def: string, max: number, maxItems: number): SettingDef => ({
  name: "sizes",
  label: "Datagram sizes",
  help: "bytes of each datagram, separated by commas",
  kind: "list",
  min: 0,
  max,
  maxItems,
  default: def,
  unit: "B",
});

/** Each size as a box label, `1,500 B`. */
const inBytes = (sizes: readonly number[]): string[] => sizes.map((n) => `${fmt(n)} B`);

function seenOf(messages: Uint8Array[], result: UdpResult): DatagramSeen[] {
  return matchDatagrams(messages, result.received).map((m, i) => ({
    ...m,
    size: result.received[i].data.length,
  }));
}

const limit: Experiment = {
  id: "udp-limit",
  title: "UDP's size limit",
  claim: `one UDP datagram over IPv4 carries at most ${
    fmt(MAX_UDP_PAYLOAD_IPV4)
  } bytes; a larger send is refused, not split`,
  settings: [
    datagramSizes("65506,65507,65508,70000", 262144, 8),
    {
      name: "check",
      label: "Who refuses",
      help: "sockkit: send() checks the limit itself; os: the OS refuses (EMSGSIZE)",
      kind: "choice",
      choices: ["sockkit", "os"],
      default: "sockkit",
    },
  ],
  async run(values, scope) {
    const sizes = values.sizes as number[];
    const messages = sizes.map((size, i) => makeMessage(i, size));
    const result = await udpExchange(messages, {
      pause: 0,
      checkSize: values.check === "sockkit",
    }, scope);
    const refused = new Set(
      result.sends.filter((s) => s.refused).map((s) => s.index),
    );
    const row = datagramRow(
      "udp",
      "UDP: receive()",
      sizes,
      seenOf(messages, result),
      refused,
    );
    const over = sizes.filter((n) => n > MAX_UDP_PAYLOAD_IPV4).length;
    const fits = sizes.length - over;
    const reproduced = refused.size === over && row.counts.whole === fits;
    const error = result.sends.find((s) => s.refused)?.refused;
    return {
      sent: sentRow(sizes, inBytes(sizes)),
      rows: [row],
      verdict: {
        reproduced,
        summary: reproduced
          ? `${plural(fits, "datagram")} up to ${fmt(MAX_UDP_PAYLOAD_IPV4)} B arrived whole; ` +
            `${plural(over, "larger one")} refused` +
            (error ? ` with ${error.error}` : "")
          : `not reproduced: ${fmt(refused.size)} refused, ${fmt(row.counts.whole)} whole`,
        lines: [
          {
            ok: row.counts.unmatched === 0,
            name: "UDP",
            text: error
              ? `refused by ${values.check === "os" ? "the OS" : "sockkit"}: ${error.message}`
              : "nothing was refused",
          },
        ],
      },
    };
  },
};

const truncation: Experiment = {
  id: "udp-truncation",
  title: "UDP truncation into a small buffer",
  claim: "a datagram larger than the receive buffer is cut short; the rest is gone, " +
    "not delivered by the next receive",
  settings: [
    datagramSizes("100,1500,3000,500", MAX_UDP_PAYLOAD_IPV4, 20),
    COMMON.buffer(1024, 1, 65536),
  ],
  async run(values, scope) {
    const sizes = values.sizes as number[], buffer = values.buffer as number;
    const messages = sizes.map((size, i) => makeMessage(i, size));
    const result = await udpExchange(messages, { pause: 2, buffer }, scope);
    const row = datagramRow(
      "udp",
      `UDP: receive(${buffer})`,
      sizes,
      seenOf(messages, result),
    );
    const flagged = result.received.filter((r) => r.truncated).length;
    row.counts = { ...row.counts, "flagged maybe truncated": flagged };
    const longer = sizes.filter((n) => n > buffer).length;
    const reproduced = longer > 0 && row.counts.truncated === longer &&
      row.counts.whole === sizes.length - longer;
    return {
      sent: sentRow(sizes, inBytes(sizes)),
      rows: [row],
      verdict: {
        reproduced,
        summary: reproduced
          ? `${plural(longer, "datagram")} over ${fmt(buffer)} B came cut to ${
            fmt(buffer)
          } B, the rest dropped without an error; the next receive got the next datagram`
          : longer === 0
          ? `not reproduced: every datagram fit the ${fmt(buffer)}-byte buffer`
          : `not reproduced: ${fmt(row.counts.truncated)} of ${fmt(longer)} came truncated`,
        lines: [
          {
            ok: row.counts.truncated === 0,
            name: "UDP",
            text: `${fmt(row.counts.truncated)} truncated, ${fmt(row.counts.whole)} whole; ` +
              `${fmt(flagged)} flagged "maybe truncated" (the buffer came back full)`,
          },
        ],
      },
    };
  },
};

const percent = (n: number, of: number): string =>
  of === 0 ? "0%" : `${(100 * n / of).toFixed(1)}%`;

const relay: Experiment = {
  id: "udp-relay",
  title: "UDP loss, reordering and duplication through the relay",
  claim: "UDP does not promise delivery, order or uniqueness; loopback keeps all three, " +
    "a seeded relay breaks them reproducibly",
  settings: [
    COMMON.count(100, 2000),
    COMMON.sizes("32-200", 12, 1400),
    {
      name: "loss",
      label: "Loss",
      help: "probability the relay drops a datagram",
      kind: "prob",
      default: 0.1,
    },
    {
      name: "duplicate",
      label: "Duplicate",
      help: "probability the relay sends a datagram twice",
      kind: "prob",
      default: 0.05,
    },
    {
      name: "reorder",
      label: "Reorder",
      help: "probability the relay holds a datagram back until after the next",
      kind: "prob",
      default: 0.1,
    },
    {
      name: "corrupt",
      label: "Corrupt",
      help: "probability the relay flips one bit of a datagram",
      kind: "prob",
      default: 0,
    },
    {
      name: "delay",
      label: "Delay",
      help: "milliseconds the relay holds every datagram",
      kind: "int",
      min: 0,
      max: 200,
      default: 0,
      unit: "ms",
    },
    {
      name: "jitter",
      label: "Jitter",
      help: "up to this many ms more or less per datagram (they may overtake each other)",
      kind: "int",
      min: 0,
      max: 200,
      default: 0,
      unit: "ms",
    },
    COMMON.pause(1, 20),
    COMMON.seed(),
  ],
  async run(values, scope) {
    const count = values.count as number, gap = values.pause as number;
    if (count * gap > 4000) {
      throw new SettingsError("count × pause may be at most 4,000 ms");
    }
    const seed = values.seed as number;
    const messages = makeMessages(
      count,
      values.sizes as SizeRange,
      new Random(seed),
    );
    const sizes = messages.map((m) => m.length);
    const direct = await udpExchange(messages, { pause: gap }, scope);
    let stats: UdpRelayStats | undefined;
    const through = await udpExchange(messages, {
      pause: gap,
      idleMs: 400 + 2 * ((values.delay as number) + (values.jitter as number)),
      via: async (receiver) => {
        const r = await startUdpRelay({
          target: receiver,
          seed,
          up: {
            loss: values.loss as number,
            duplicate: values.duplicate as number,
            reorder: values.reorder as number,
            corrupt: values.corrupt as number,
            delay: values.delay as number,
            jitter: values.jitter as number,
          },
        });
        scope.add({ close: () => void r.close() });
        stats = r.stats;
        return {
          addr: { ...r.addr, transport: "udp" },
          close: () => r.close(),
        };
      },
    }, scope);
    const directRow = datagramRow(
      "udp-direct",
      "UDP direct",
      sizes,
      seenOf(messages, direct),
    );
    const relayRow: Row = datagramRow(
      "udp-relay",
      "UDP via the relay",
      sizes,
      seenOf(messages, through),
      new Set(),
      "corrupted",
    );
    const up = stats!.up;
    relayRow.counts = {
      ...relayRow.counts,
      "relay dropped": up.lost,
      "relay duplicated": up.duplicated,
      "relay held back": up.reordered,
      "relay corrupted": up.corrupted,
    };
    const c = relayRow.counts;
    const lines: VerdictLine[] = [
      {
        ok: directRow.counts.lost === 0 && directRow.counts.reordered === 0 &&
          directRow.counts.duplicates === 0,
        name: "UDP direct",
        text: `${fmt(directRow.counts.whole)} of ${fmt(count)} arrived, ${
          fmt(directRow.counts.reordered)
        } reordered, ${fmt(directRow.counts.duplicates)} duplicated (loopback)`,
      },
      {
        ok: c.lost === 0 && c.reordered === 0 && c.duplicates === 0,
        name: "UDP relay",
        text: `lost ${fmt(c.lost)} (${percent(c.lost, count)}, set ${values.loss}), duplicated ${
          fmt(c.duplicates)
        } (${percent(c.duplicates, count)}, set ${values.duplicate}), reordered ${
          fmt(c.reordered)
        } (${percent(c.reordered, count)}, set ${values.reorder})`,
      },
    ];
    const wanted = [
      [values.loss as number, c.lost],
      [values.duplicate as number, c.duplicates],
      [values.reorder as number, c.reordered],
    ];
    const reproduced = wanted.every(([p, n]) => p === 0 ? n === 0 : n > 0) &&
      wanted.some(([p]) => p > 0) && c.lost === up.lost &&
      c.duplicates === up.duplicated;
    return {
      sent: sentRow(sizes),
      rows: [directRow, relayRow],
      verdict: {
        reproduced,
        summary: reproduced
          ? `through the relay (seed ${seed}) ${fmt(c.lost)} lost, ${
            fmt(c.duplicates)
          } duplicated, ${fmt(c.reordered)} out of order, all without an error; ` +
            "the receiver's counts match the relay's log"
          : "not reproduced: the receiver did not see each impairment that was set " +
            "(or none was set)",
        lines,
      },
    };
  },
};

/** The datagram experiments. */
export const UDP_EXPERIMENTS: Experiment[] = [limit, truncation, relay];
