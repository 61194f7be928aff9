// Copyright 2025 the sockkit authors. MIT license.
/**
 * The size limits of a datagram, and the address family that decides which one applies.
 *
 * @module
 */

/**
 * The largest UDP payload that fits in one IPv4 datagram: **65,507 bytes**.
 *
 * The IPv4 header's 16-bit "total length" field counts the whole packet, headers included, so
 * the most a packet can be is 65,535 bytes. Take away the 20-byte IPv4 header (without options)
 * and the 8-byte UDP header: 65,535 − 20 − 8 = 65,507 bytes of payload. This is the figure the
 * classic socket tutorials give for `sendto`.
 *
 * @example Usage
 * ```ts
 * import { MAX_UDP_PAYLOAD_IPV4 } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_UDP_PAYLOAD_IPV4, 65_535 - 20 - 8);
 * ```
 */
export const MAX_UDP_PAYLOAD_IPV4 = 65_507;

/**
 * The largest UDP payload that fits in one IPv6 datagram without a jumbogram: **65,527 bytes**.
 *
 * The IPv6 header's 16-bit "payload length" field does *not* count the 40-byte IPv6 header
 * itself, only what follows it, so 65,535 bytes are left for the UDP header and its payload:
 * 65,535 − 8 = 65,527 bytes. That is 20 bytes more than over IPv4. (Jumbograms, RFC 2675, need
 * links with a larger MTU and are not used on loopback.)
 *
 * @example Usage
 * ```ts
 * import { MAX_UDP_PAYLOAD_IPV4, MAX_UDP_PAYLOAD_IPV6 } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_UDP_PAYLOAD_IPV6, 65_535 - 8);
 * assert.equal(MAX_UDP_PAYLOAD_IPV6 - MAX_UDP_PAYLOAD_IPV4, 20);
 * ```
 */
export const MAX_UDP_PAYLOAD_IPV6 = 65_527;

/**
 * The address family a datagram travels in: `"ipv4"` or `"ipv6"` for UDP, `"unix"` for
 * `unixpacket` sockets (unix-domain datagram sockets).
 */
export type AddressFamily = "ipv4" | "ipv6" | "unix";

const IPV4_LITERAL =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV4_MAPPED = /^::ffff:(?:\d{1,3}\.){3}\d{1,3}$/i;

/**
 * Tells which IP family a hostname literal belongs to, or `undefined` for a name such as
 * `"localhost"` that only a resolver can answer.
 *
 * An IPv4-mapped IPv6 address such as `::ffff:127.0.0.1` counts as `"ipv4"`: the datagram really
 * goes out as IPv4, so the IPv4 limit applies. Square brackets around an IPv6 literal are
 * accepted.
 *
 * @example Usage
 * ```ts
 * import { ipFamilyOf } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ipFamilyOf("127.0.0.1"), "ipv4");
 * assert.equal(ipFamilyOf("::1"), "ipv6");
 * assert.equal(ipFamilyOf("[::1]"), "ipv6");
 * assert.equal(ipFamilyOf("::ffff:127.0.0.1"), "ipv4");
 * assert.equal(ipFamilyOf("localhost"), undefined);
 * ```
 *
 * @param hostname An IP address literal or a host name.
 * @returns `"ipv4"`, `"ipv6"`, or `undefined` when `hostname` is not an IP literal.
 */
export function ipFamilyOf(hostname: string): "ipv4" | "ipv6" | undefined {
  if (typeof hostname !== "string") {
    throw new TypeError(`hostname must be a string, got ${typeof hostname}`);
  }
  const host = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  if (IPV4_LITERAL.test(host) || IPV4_MAPPED.test(host)) return "ipv4";
  if (host.includes(":")) return "ipv6";
  return undefined;
}

/**
 * The fixed payload limit of a UDP datagram in the given family: {@linkcode MAX_UDP_PAYLOAD_IPV4}
 * or {@linkcode MAX_UDP_PAYLOAD_IPV6}. `"unix"` has no fixed limit and gives `undefined`: a
 * `unixpacket` datagram may be as large as the socket's send buffer allows (212,960 bytes with
 * Linux's default 212,992-byte `wmem_default`), and the OS says `EMSGSIZE` beyond it.
 *
 * @example Usage
 * ```ts
 * import { maxPayloadFor } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(maxPayloadFor("ipv4"), 65_507);
 * assert.equal(maxPayloadFor("ipv6"), 65_527);
 * assert.equal(maxPayloadFor("unix"), undefined);
 * ```
 *
 * @param family The address family.
 * @returns The largest payload in bytes, or `undefined` for `"unix"`.
 */
export function maxPayloadFor(family: AddressFamily): number | undefined {
  switch (family) {
    case "ipv4":
      return MAX_UDP_PAYLOAD_IPV4;
    case "ipv6":
      return MAX_UDP_PAYLOAD_IPV6;
    case "unix":
      return undefined;
    default:
      throw new TypeError(`unknown address family: ${String(family)}`);
  }
}
