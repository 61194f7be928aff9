// Copyright 2025 the sockkit authors. MIT license.
/**
 * The lab's settings: one definition per setting (kind, bounds, default), and
 * {@linkcode parseSettings}, which turns the strings of a URL query into checked values or
 * throws a {@linkcode SettingsError} naming the setting and its bounds. The page builds its form
 * from the same definitions, so both sides agree on every bound.
 *
 * @module
 */

/** A setting's definition, sent to the page as JSON. */
export type SettingDef =
  & {
    /** Its name in the URL and the JSON. */
    name: string;
    /** What the form shows. */
    label: string;
    /** One line of help. */
    help: string;
  }
  & (
    | { kind: "int"; min: number; max: number; default: number; unit?: string }
    | {
      kind: "range";
      min: number;
      max: number;
      default: string;
      unit?: string;
    }
    | {
      kind: "list";
      min: number;
      max: number;
      maxItems: number;
      default: string;
      unit?: string;
    }
    | { kind: "prob"; default: number }
    | { kind: "choice"; choices: string[]; default: string }
  );

/** Bad settings: the server answers it with HTTP 400 and its message. */
export class SettingsError extends Error {
  /** Makes one. */
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/** A parsed `range` setting. */
export interface SizeRange {
  min: number;
  max: number;
}

/** Parsed values: numbers for `int`/`prob`, strings for `choice`, and the others parsed. */
export type Values = Record<string, number | string | SizeRange | number[]>;

const fmt = (n: number): string => n.toLocaleString("en-US");

function int(
  def: { name: string; min: number; max: number },
  text: string,
): number {
  const t = text.trim().replaceAll("_", "");
  const n = Number(t);
  if (
    t === "" || !/^-?\d+$/.test(t) || !Number.isSafeInteger(n) || n < def.min ||
    n > def.max
  ) {
    throw new SettingsError(
      `${def.name} must be an integer from ${fmt(def.min)} to ${fmt(def.max)}, got "${text}"`,
    );
  }
  return n;
}

function one(
  def: SettingDef,
  text: string,
): number | string | SizeRange | number[] {
  switch (def.kind) {
    case "int":
      return int(def, text);
    case "prob": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
        throw new SettingsError(
          `${def.name} must be a probability from 0 to 1, got "${text}"`,
        );
      }
      return n;
    }
    case "choice":
      if (!def.choices.includes(text)) {
        throw new SettingsError(
          `${def.name} must be one of ${def.choices.join(", ")}, got "${text}"`,
        );
      }
      return text;
    case "range": {
      const parts = text.split(/\s*(?:-|–|\.\.)\s*/);
      if (parts.length > 2) {
        throw new SettingsError(
          `${def.name} must be a size or a range like 14-40, got "${text}"`,
        );
      }
      const min = int(def, parts[0]);
      const max = parts.length === 2 ? int(def, parts[1]) : min;
      if (max < min) {
        throw new SettingsError(
          `${def.name}: the range ${text} ends before it starts`,
        );
      }
      return { min, max };
    }
    case "list": {
      const parts = text.split(/[\s,;]+/).filter((p) => p !== "");
      if (parts.length === 0 || parts.length > def.maxItems) {
        throw new SettingsError(
          `${def.name} must list 1 to ${def.maxItems} sizes separated by commas, got "${text}"`,
        );
      }
      return parts.map((p) => int(def, p));
    }
  }
}

/**
 * Checks raw settings (strings, as in a URL query) against their definitions and fills in
 * defaults.
 *
 * @example A range, a default and an error
 * ```ts
 * import { parseSettings, SettingsError } from "./settings.ts";
 * import assert from "node:assert/strict";
 *
 * const defs = [
 *   { name: "sizes", label: "Sizes", help: "", kind: "range", min: 0, max: 100, default: "1-9" },
 *   { name: "count", label: "Count", help: "", kind: "int", min: 1, max: 10, default: 3 },
 * ] as const;
 * const { values } = parseSettings([...defs], { sizes: "14-40" });
 * assert.deepEqual(values, { sizes: { min: 14, max: 40 }, count: 3 });
 * assert.throws(() => parseSettings([...defs], { count: "11" }), SettingsError);
 * assert.throws(() => parseSettings([...defs], { colour: "red" }), SettingsError);
 * ```
 *
 * @param defs The experiment's settings.
 * @param raw Strings by name; names not defined are refused.
 * @returns The values, and the same as normalised strings/numbers (for the URL and the JSON).
 * @throws {SettingsError} On an unknown name or a value out of bounds.
 */
export function parseSettings(
  defs: readonly SettingDef[],
  raw: Record<string, string>,
): { values: Values; echo: Record<string, string | number> } {
  for (const name of Object.keys(raw)) {
    if (!defs.some((d) => d.name === name)) {
      throw new SettingsError(
        `unknown setting "${name.slice(0, 40)}"; this experiment takes: ${
          defs.map((d) => d.name).join(", ")
        }`,
      );
    }
  }
  const values: Values = {};
  const echo: Record<string, string | number> = {};
  for (const def of defs) {
    const text = raw[def.name] ?? String(def.default);
    if (text.length > 200) throw new SettingsError(`${def.name} is too long`);
    const value = one(def, text);
    values[def.name] = value;
    echo[def.name] = typeof value === "number" || typeof value === "string"
      ? value
      : Array.isArray(value)
      ? value.join(",")
      : value.min === value.max
      ? String(value.min)
      : `${value.min}-${value.max}`;
  }
  return { values, echo };
}

/** The settings most experiments share, with their bounds. */
export const COMMON = {
  count: (def: number, max: number): SettingDef => ({
    name: "count",
    label: "Messages",
    help: "how many messages are sent",
    kind: "int",
    min: 1,
    max,
    default: def,
  }),
  sizes: (def: string, min: number, max: number): SettingDef => ({
    name: "sizes",
    label: "Message sizes",
    help: "bytes per message: one size, or a range min-max drawn with the seed",
    kind: "range",
    min,
    max,
    default: def,
    unit: "B",
  }),
  buffer: (def: number, min: number, max: number): SettingDef => ({
    name: "buffer",
    label: "Receive buffer",
    help: "bytes per read or receive, like Python's recv(N)",
    kind: "int",
    min,
    max,
    default: def,
    unit: "B",
  }),
  nagle: (def: string): SettingDef => ({
    name: "nagle",
    label: "Nagle (raw TCP sender)",
    help: "on: Deno's default; off: TCP_NODELAY set",
    kind: "choice",
    choices: ["on", "off"],
    default: def,
  }),
  pause: (def: number, max = 100): SettingDef => ({
    name: "pause",
    label: "Pause between sends",
    help: "milliseconds the sender waits after each message",
    kind: "int",
    min: 0,
    max,
    default: def,
    unit: "ms",
  }),
  seed: (): SettingDef => ({
    name: "seed",
    label: "Seed",
    help: "the same seed gives the same messages (and impairments)",
    kind: "int",
    min: 0,
    max: 2 ** 31 - 1,
    default: 1,
  }),
};
