// Copyright 2025 the sockkit authors. MIT license.
import assert from "node:assert/strict";
import {
  DatagramTooLargeError,
  ipFamilyOf,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  maxPayloadFor,
} from "../udp/mod.ts";

Deno.test({
  name: "udp limits: the payload limits follow from the header sizes",
  permissions: "none",
  fn() {
    const ipv4Header = 20, ipv6Header = 40, udpHeader = 8, maxLengthField = 2 ** 16 - 1;
    // IPv4's total length counts its own header; IPv6's payload length does not.
    assert.equal(MAX_UDP_PAYLOAD_IPV4, maxLengthField - ipv4Header - udpHeader);
    assert.equal(MAX_UDP_PAYLOAD_IPV6, maxLengthField - udpHeader);
    assert.equal(MAX_UDP_PAYLOAD_IPV6 + udpHeader + ipv6Header, 65_575);
    assert.equal(maxPayloadFor("ipv4"), 65_507);
    assert.equal(maxPayloadFor("ipv6"), 65_527);
    assert.equal(maxPayloadFor("unix"), undefined);
    assert.throws(() => maxPayloadFor("ipx" as "ipv4"), TypeError);
  },
});

Deno.test({
  name: "udp limits: ipFamilyOf tells IPv4 and IPv6 literals from names",
  permissions: "none",
  fn() {
    for (const host of ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::ffff:127.0.0.2"]) {
      assert.equal(ipFamilyOf(host), "ipv4", host);
    }
    for (const host of ["::1", "[::1]", "::", "fe80::1", "2001:db8::8:800:200c:417a"]) {
      assert.equal(ipFamilyOf(host), "ipv6", host);
    }
    for (const host of ["localhost", "example.com", "256.1.1.1", "1.2.3", ""]) {
      assert.equal(ipFamilyOf(host), undefined, host);
    }
    assert.throws(() => ipFamilyOf(1 as unknown as string), TypeError);
  },
});

Deno.test({
  name: "udp limits: DatagramTooLargeError is a RangeError with size, limit and family",
  permissions: "none",
  fn() {
    const cause = Object.assign(new Error("Message too long (os error 90)"), { code: "EMSGSIZE" });
    const v6 = new DatagramTooLargeError(65_528, 65_527, "ipv6", { cause });
    assert.ok(v6 instanceof RangeError);
    assert.ok(v6 instanceof DatagramTooLargeError);
    assert.equal(v6.name, "DatagramTooLargeError");
    assert.equal(v6.size, 65_528);
    assert.equal(v6.limit, 65_527);
    assert.equal(v6.family, "ipv6");
    assert.equal(v6.cause, cause);
    assert.match(v6.message, /65,528 bytes .* IPv6 UDP payload limit of 65,527 bytes/);

    const unix = new DatagramTooLargeError(300_000, undefined, "unix");
    assert.equal(unix.limit, undefined);
    assert.match(unix.message, /300,000 bytes .* unixpacket .*EMSGSIZE/);
  },
});
