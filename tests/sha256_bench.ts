/**
 * SHA-256 throughput on one core, as the file transfer computes it (`node:crypto` `createHash`,
 * fed 1 MiB chunks): the ceiling for a wire that hashes every byte. Best of 5.
 * `deno task bench sha256`.
 *
 * @module
 */
import { createHash } from "node:crypto";

const CHUNK = new Uint8Array(1024 * 1024).fill(0x5a);
const CHUNKS = 256;
let best = Infinity;
for (let round = 0; round < 5; round++) {
  const hash = createHash("sha256");
  const start = performance.now();
  for (let i = 0; i < CHUNKS; i++) hash.update(CHUNK);
  hash.digest();
  best = Math.min(best, performance.now() - start);
}
console.log(
  `SHA-256 (node:crypto, 1 MiB updates): ${
    (CHUNK.length * CHUNKS / (best / 1000) / 1e9).toFixed(2)
  } GB/s on one core, best of 5`,
);
