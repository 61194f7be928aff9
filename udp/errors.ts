// Copyright 2025 the sockkit authors. MIT license.
/**
 * The error thrown when a datagram is too large to send.
 *
 * @module
 */

import type { AddressFamily } from "./limits.ts";

const FAMILY_NAMES: Record<AddressFamily, string> = {
  ipv4: "IPv4 UDP",
  ipv6: "IPv6 UDP",
  unix: "unixpacket",
};

/**
 * Thrown by {@linkcode DatagramSocket.send} when a datagram is larger than its destination's
 * address family allows: either sockkit's own check refused it before the OS saw it, or the OS
 * refused it with `EMSGSIZE` ("Message too long"), which is mapped to this error with the OS
 * error as its `cause`.
 *
 * It is a {@linkcode RangeError}, so code that only knows "bad input" still catches it.
 *
 * @example Usage
 * ```ts
 * import { DatagramTooLargeError, MAX_UDP_PAYLOAD_IPV4 } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * const error = new DatagramTooLargeError(65_508, MAX_UDP_PAYLOAD_IPV4, "ipv4");
 * assert.ok(error instanceof RangeError);
 * assert.equal(error.size, 65_508);
 * assert.equal(error.limit, 65_507);
 * assert.equal(error.family, "ipv4");
 * assert.equal(
 *   error.message,
 *   "Datagram of 65,508 bytes exceeds the IPv4 UDP payload limit of 65,507 bytes",
 * );
 * ```
 */
export class DatagramTooLargeError extends RangeError {
  /** The size of the refused datagram in bytes. */
  readonly size: number;
  /**
   * The limit in bytes that was exceeded, or `undefined` when the OS refused the datagram and
   * no fixed limit is known (`unixpacket`, whose limit is the socket's send buffer).
   */
  readonly limit: number | undefined;
  /** The address family of the destination. */
  readonly family: AddressFamily;

  /**
   * Constructs a new instance.
   *
   * @param size The size of the refused datagram in bytes.
   * @param limit The limit in bytes, or `undefined` if none is known.
   * @param family The address family of the destination.
   * @param options The standard error options; `cause` holds the OS error when there was one.
   */
  constructor(
    size: number,
    limit: number | undefined,
    family: AddressFamily,
    options?: ErrorOptions,
  ) {
    const fmt = (n: number) => n.toLocaleString("en-US");
    super(
      limit === undefined
        ? `Datagram of ${fmt(size)} bytes is too large for this ${
          FAMILY_NAMES[family]
        } socket: the OS refused it (EMSGSIZE)`
        : `Datagram of ${fmt(size)} bytes exceeds the ${FAMILY_NAMES[family]} payload limit of ${
          fmt(limit)
        } bytes`,
      options,
    );
    this.name = "DatagramTooLargeError";
    this.size = size;
    this.limit = limit;
    this.family = family;
  }
}
