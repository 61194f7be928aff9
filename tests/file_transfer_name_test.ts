import assert from "node:assert/strict";
import {
  checkFileName,
  escapeFileName,
  FileTransferError,
  isSafeFileName,
  unsafeFileNameReason,
} from "../tcp/transfer/mod.ts";

Deno.test({
  name: "safe names: plain base names pass, including non-ASCII, dots and spaces",
  permissions: "none",
  fn() {
    for (
      const name of [
        "a.txt",
        "三体.txt",
        ".bashrc",
        "a b",
        "..a",
        "a..",
        "x".repeat(233),
        "a\u200bb",
      ]
    ) {
      assert.equal(unsafeFileNameReason(name), undefined, name);
      assert.equal(checkFileName(name), name);
    }
  },
});

Deno.test({
  name: "safe names: traversal, absolute, drive, backslash, NUL, control, bidi, empty, long",
  permissions: "none",
  fn() {
    const hostile = [
      "../x",
      "/etc/passwd",
      "a/../../b",
      "C:\\x",
      "c:x",
      "..\\x",
      ".",
      "..",
      "a\nb",
      "a\rb",
      "\u001b[2J",
      "a\u0000b",
      "a\u007fb",
      "a\u0085b",
      "evil\u202etxt.exe",
      "",
      "x".repeat(256),
      "é".repeat(128),
      "x".repeat(234),
      "a\u2028b",
      "a\u2029b",
      "a\u061cb",
      "\ud800",
      ".a.sockkit-partial",
      ".a.sockkit-partial.json",
      ".a.sockkit-lock",
      ".a.sockkit-lock.abc123",
    ];
    for (const name of hostile) {
      assert.equal(isSafeFileName(name), false, JSON.stringify(name));
      assert.throws(
        () => checkFileName(name),
        (e) => e instanceof FileTransferError && e.code === "unsafe-name",
      );
    }
    for (const value of [undefined, null, 42, {}, ["a"]]) {
      assert.equal(isSafeFileName(value), false);
    }
  },
});

Deno.test({
  name: "escaped names cannot act on a terminal",
  permissions: "none",
  fn() {
    assert.equal(escapeFileName("a\u001b[31mb"), '"a\\u001b[31mb"');
    assert.equal(escapeFileName("x\u202ey"), '"x\\u202ey"');
    assert.equal(escapeFileName("a\u0085"), '"a\\u0085"');
    assert.equal(escapeFileName("😀.png"), '"😀.png"');
    assert.equal(escapeFileName(7), "<number>");
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(escapeFileName("\u0000\u0007\u009b"), /[\u0000-\u001f\u007f-\u009f]/);
  },
});
