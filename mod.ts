/**
 * sockkit: sockets made visible and safe in Deno.
 *
 * - `@sockkit/sockkit/framing`: length-prefix codecs and the JSON-header envelope.
 * - `@sockkit/sockkit/tcp`: framed TCP and unix-socket connections and servers.
 * - `@sockkit/sockkit/udp`: datagram sockets with the size limits enforced.
 *
 * @module
 */
export * from "./framing/mod.ts";
export * from "./tcp/mod.ts";
export * from "./udp/mod.ts";
