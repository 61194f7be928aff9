// Copyright 2025 the sockkit authors. MIT license.
/**
 * UDP beside TCP: datagram sockets on `Deno.listenDatagram` that keep message boundaries and make
 * their limits visible. The payload limits ({@linkcode MAX_UDP_PAYLOAD_IPV4} = 65,507 bytes,
 * {@linkcode MAX_UDP_PAYLOAD_IPV6} = 65,527 bytes) are enforced with a typed
 * {@linkcode DatagramTooLargeError}, receives never truncate unless you hand them a buffer that
 * is too small (and then say so), empty datagrams work, and {@linkcode transmit} sends a batch of
 * messages and reports what arrived, lost datagrams included. Multicast:
 * {@linkcode DatagramSocket.joinMulticast} joins and leaves groups and sets loopback and TTL.
 *
 * Needs `--unstable-net` (or `"unstable": ["net"]` in `deno.json`).
 *
 * @example Boundaries are kept
 * ```ts
 * import { openDatagram } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * await using receiver = openDatagram({ hostname: "127.0.0.1", port: 0 });
 * await using sender = openDatagram({ hostname: "127.0.0.1", port: 0 });
 * const to = receiver.addr as Deno.NetAddr;
 * for (const size of [3, 0, 1000]) await sender.send(new Uint8Array(size), to);
 * const sizes = [];
 * for (let i = 0; i < 3; i++) sizes.push((await receiver.receive()).data.length);
 * assert.deepEqual(sizes, [3, 0, 1000]); // three sends, three receives, none merged
 * ```
 *
 * @module
 */

export * from "./limits.ts";
export * from "./errors.ts";
export * from "./datagram_socket.ts";
export * from "./transmit.ts";
export {
  isMulticastAddress,
  type JoinMulticastOptions,
  type MulticastMembership,
} from "./multicast.ts";
