// The stdio line reader the gateway's stdio transport uses: lines under the bound are
// delivered whole (however the chunks fall), a line over it is discarded as it streams and
// reported with the id of the request it answered, wherever that id sits in the line.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundedLineReader, type OversizedLine } from "../../src/gateway/bounded-lines.js";

function read(maxLineBytes: number, chunks: string[]) {
  const lines: string[] = [];
  const oversized: OversizedLine[] = [];
  const reader = new BoundedLineReader(maxLineBytes, {
    line: (text) => lines.push(text),
    oversized: (line) => oversized.push(line),
  });
  for (const chunk of chunks) reader.push(Buffer.from(chunk));
  return { lines, oversized };
}

/** `text` cut into pieces of `size` bytes. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const big = "x".repeat(5_000);

describe("BoundedLineReader", () => {
  test("lines under the bound arrive whole, across chunk boundaries and with CRLF", () => {
    const text = '{"jsonrpc":"2.0","id":1,"result":{}}\r\n{"jsonrpc":"2.0","method":"n"}\n';
    for (const size of [1, 3, 7, 100]) {
      const { lines, oversized } = read(1024, pieces(text, size));
      assert.deepEqual(lines, [
        '{"jsonrpc":"2.0","id":1,"result":{}}',
        '{"jsonrpc":"2.0","method":"n"}',
      ]);
      assert.deepEqual(oversized, []);
    }
  });

  test("an oversized answer is dropped and reported with its id, first or last in the line", () => {
    const idFirst = `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"${big}"}]}}`;
    // SDK v1 writes { result, jsonrpc, id }: the id comes after the whole result.
    const idLast = `{"result":{"content":[{"type":"text","text":"${big}","id":99}]},"jsonrpc":"2.0","id":8}`;
    const stringId = `{"result":{"text":"${big}"}, "id" : "req-\\"9\\""}`;
    const text = `${idFirst}\n${idLast}\n${stringId}\n{"jsonrpc":"2.0","id":10,"result":{}}\n`;
    for (const size of [1, 64, 4096]) {
      const { lines, oversized } = read(1024, pieces(text, size));
      assert.deepEqual(
        oversized.map((o) => o.id),
        [7, 8, 'req-"9"'],
        `chunks of ${size}`,
      );
      assert.ok(oversized.every((o) => o.bytes > 5_000));
      assert.deepEqual(
        lines,
        ['{"jsonrpc":"2.0","id":10,"result":{}}'],
        "the next line is read as usual",
      );
    }
  });

  test("an oversized request or notification from the server is reported without an id", () => {
    const request = `{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"t":"${big}"}}`;
    const notification = `{"jsonrpc":"2.0","method":"notifications/message","params":{"t":"${big}"}}`;
    const { oversized } = read(1024, [`${request}\n${notification}\n`]);
    assert.deepEqual(
      oversized.map((o) => o.id),
      [undefined, undefined],
    );
  });

  test("the bound is on the line's bytes: at the bound it passes, one byte over it does not", () => {
    const line = (n: number) => `{"id":1,"t":"${"é".repeat(n)}"}`; // 2 bytes a character
    const at = line(500);
    const size = Buffer.byteLength(at);
    const { lines } = read(size, [`${at}\n`]);
    assert.deepEqual(lines, [at]);
    const { lines: none, oversized } = read(size - 1, [`${at}\n`]);
    assert.deepEqual(none, []);
    assert.deepEqual(oversized, [{ id: 1, bytes: size }]);
  });
});
