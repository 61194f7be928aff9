// Copyright 2025 the sockkit authors. MIT license.
/**
 * UDP multicast on a {@linkcode DatagramSocket}: joining and leaving groups, and the
 * loopback and TTL settings of the datagrams it sends to them.
 *
 * @module
 */

import { ipFamilyOf } from "./limits.ts";

/** Settings for {@linkcode DatagramSocket.joinMulticast}. */
export interface JoinMulticastOptions {
  /**
   * The local interface to join on: an IPv4 interface's address (a string), or an IPv6
   * interface's index (a number; `0` lets the OS pick by route). The IPv4 default is the
   * loopback interface, like the sockets' default address, so joining reaches nothing beyond
   * this host unless you ask for it; use `"0.0.0.0"` to let the OS pick.
   *
   * @default {"127.0.0.1" for IPv4, 0 for IPv6}
   */
  interface?: string | number;
  /**
   * Whether datagrams this socket sends to multicast groups come back to listeners on this
   * host, this socket included (`IP_MULTICAST_LOOP`). Unset leaves the OS's setting.
   *
   * @default {undefined}
   */
  loopback?: boolean;
  /**
   * IPv4 only: the time-to-live of the multicast datagrams this socket sends (`IP_MULTICAST_TTL`,
   * 0 to 255): 0 keeps them on this host, 1 (the OS's usual default) on the local link. Unset
   * leaves the OS's setting. Deno has no IPv6 hop-limit setting, so it is refused for IPv6.
   *
   * @default {undefined}
   */
  ttl?: number;
}

/**
 * Membership of one multicast group, from {@linkcode DatagramSocket.joinMulticast}. Leave it
 * with {@linkcode MulticastMembership.leave} or `await using`; closing the socket leaves every
 * group too.
 */
export interface MulticastMembership extends AsyncDisposable {
  /** The group's address. */
  readonly group: string;
  /** `"ipv4"` or `"ipv6"`. */
  readonly family: "ipv4" | "ipv6";
  /** Leaves the group; leaving twice is a no-op. */
  leave(): Promise<void>;
  /** Turns `IP_MULTICAST_LOOP` on or off (see {@linkcode JoinMulticastOptions.loopback}). */
  setLoopback(loopback: boolean): Promise<void>;
  /**
   * Sets the TTL of the socket's multicast datagrams (see {@linkcode JoinMulticastOptions.ttl});
   * IPv4 only.
   */
  setTTL(ttl: number): Promise<void>;
}

const IPV4_MULTICAST = /^(22[4-9]|23\d)\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Tells whether an address is a multicast group address: 224.0.0.0/4 for IPv4, ff00::/8 for
 * IPv6.
 *
 * @param hostname An IP address literal (IPv6 with or without brackets).
 * @returns `true` for a multicast address.
 *
 * @example Group addresses
 * ```ts
 * import { isMulticastAddress } from "@sockkit/sockkit/udp";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isMulticastAddress("239.255.0.1"), true);
 * assert.equal(isMulticastAddress("ff02::1"), true);
 * assert.equal(isMulticastAddress("127.0.0.1"), false);
 * ```
 */
export function isMulticastAddress(hostname: string): boolean {
  if (typeof hostname !== "string") return false;
  const host = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  if (IPV4_MULTICAST.test(host)) return host.split(".").every((part) => Number(part) <= 255);
  return /^ff[0-9a-f]{2}:/i.test(host);
}

function checkTtl(ttl: unknown): number {
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
    throw new RangeError(`ttl must be an integer from 0 to 255, got ${String(ttl)}`);
  }
  return ttl;
}

/**
 * Joins `group` on `conn` (the work of {@linkcode DatagramSocket.joinMulticast}).
 *
 * @param conn The socket's connection.
 * @param family The socket's family.
 * @param group The group's address.
 * @param options Interface, loopback and TTL.
 * @returns The membership.
 */
export async function joinMulticastGroup(
  conn: Deno.DatagramConn,
  family: "ipv4" | "ipv6" | "unix",
  group: string,
  options: JoinMulticastOptions = {},
): Promise<MulticastMembership> {
  if (family === "unix") throw new TypeError("multicast is for UDP sockets, not unixpacket");
  if (!isMulticastAddress(group)) {
    throw new TypeError(
      `${JSON.stringify(group)} is not a multicast group address (224.0.0.0/4 or ff00::/8)`,
    );
  }
  const groupFamily = ipFamilyOf(group);
  if (groupFamily !== family) {
    throw new TypeError(`an ${family} socket cannot join the ${groupFamily} group ${group}`);
  }
  const { loopback, ttl } = options;
  if (loopback !== undefined && typeof loopback !== "boolean") {
    throw new TypeError("loopback must be a boolean");
  }
  if (ttl !== undefined) {
    if (family === "ipv6") {
      throw new TypeError("ttl is IPv4 only: Deno has no IPv6 multicast hop-limit setting");
    }
    checkTtl(ttl);
  }
  const address = group.startsWith("[") ? group.slice(1, -1) : group;
  let membership: Deno.MulticastV4Membership | Deno.MulticastV6Membership;
  if (family === "ipv4") {
    const iface = options.interface ?? "127.0.0.1";
    if (typeof iface !== "string" || ipFamilyOf(iface) !== "ipv4") {
      throw new TypeError('an IPv4 group\'s interface is an IPv4 address, e.g. "127.0.0.1"');
    }
    membership = await conn.joinMulticastV4(address, iface);
  } else {
    const iface = options.interface ?? 0;
    if (typeof iface !== "number" || !Number.isInteger(iface) || iface < 0) {
      throw new TypeError("an IPv6 group's interface is an interface index (0: the OS picks)");
    }
    membership = await conn.joinMulticastV6(address, iface);
  }
  let left = false;
  const joined: MulticastMembership = {
    group: address,
    family,
    async leave() {
      if (left) return;
      left = true;
      await membership.leave();
    },
    setLoopback(on: boolean) {
      if (typeof on !== "boolean") {
        return Promise.reject(new TypeError("loopback must be a boolean"));
      }
      return membership.setLoopback(on);
    },
    setTTL(value: number) {
      if (!("setTTL" in membership)) {
        return Promise.reject(
          new TypeError("setTTL is IPv4 only: Deno has no IPv6 multicast hop-limit setting"),
        );
      }
      try {
        checkTtl(value);
      } catch (error) {
        return Promise.reject(error);
      }
      return membership.setTTL(value);
    },
    [Symbol.asyncDispose]() {
      return joined.leave().catch(() => {});
    },
  };
  try {
    if (loopback !== undefined) await joined.setLoopback(loopback);
    if (ttl !== undefined) await joined.setTTL(ttl);
  } catch (error) {
    await joined.leave().catch(() => {});
    throw error;
  }
  return joined;
}
