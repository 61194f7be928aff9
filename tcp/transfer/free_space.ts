/**
 * Free space of the receive directory, asked only when the `statfs` permission is granted (never
 * a permission prompt in the middle of a transfer).
 *
 * @module
 */

import { statfsSync } from "node:fs";

/** Whether `statfs` may be called without a permission prompt (the `sys` permission for `statfs`). */
export function statfsGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "sys", kind: "statfs" }).state === "granted";
  } catch {
    return false;
  }
}

/** Free bytes for unprivileged users on the file system of `dir`, or `undefined` if unknown. */
export function freeSpace(dir: string, granted: boolean): number | undefined {
  if (!granted) return undefined;
  try {
    const stats = statfsSync(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}
