// The tools the official MCP conformance suite's server scenarios call, by the names and
// with the results its scenario descriptions ask for (@modelcontextprotocol/conformance).
// Each is an ordinary toolgate tool: validated, bounded, audited like any other.
import * as z from "zod";
import { defineTool, toolResult, type ToolDefinition } from "../../src/index.js";

// A 1x1 red PNG and a 1-sample silent WAV: the smallest valid files of each type.
export const RED_PIXEL_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const SILENT_WAV = Buffer.concat([
  Buffer.from("RIFF"),
  u32(38),
  Buffer.from("WAVEfmt "),
  u32(16),
  u16(1), // PCM
  u16(1), // mono
  u32(8000),
  u32(16000),
  u16(2),
  u16(16),
  Buffer.from("data"),
  u32(2),
  u16(0),
]).toString("base64");

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

const noArgs = z.object({});

function readTool(
  name: string,
  description: string,
  handler: ToolDefinition["handler"],
): ToolDefinition {
  return defineTool({
    name,
    version: "1.0.0",
    description,
    input: noArgs,
    scopes: [],
    sideEffect: "read",
    handler: handler as never,
  });
}

export const contentTools: ToolDefinition[] = [
  readTool(
    "test_simple_text",
    "Returns a simple text response.",
    () => "This is a simple text response for testing.",
  ),
  readTool("test_image_content", "Returns a 1x1 PNG image.", () =>
    toolResult({ content: [{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }] }),
  ),
  readTool("test_audio_content", "Returns a tiny WAV file.", () =>
    toolResult({ content: [{ type: "audio", data: SILENT_WAV, mimeType: "audio/wav" }] }),
  ),
  readTool("test_embedded_resource", "Returns an embedded text resource.", () =>
    toolResult({
      content: [
        {
          type: "resource",
          resource: {
            uri: "test://embedded-resource",
            mimeType: "text/plain",
            text: "This is an embedded resource content.",
          },
        },
      ],
    }),
  ),
  readTool("test_multiple_content_types", "Returns text, an image and a resource.", () =>
    toolResult({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    }),
  ),
  readTool("test_error_handling", "Always fails, to test error reporting.", () =>
    toolResult({
      isError: true,
      content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
    }),
  ),
  defineTool({
    name: "json_schema_2020_12_tool",
    version: "1.0.0",
    description: "Takes an input schema that uses JSON Schema 2020-12 keywords ($defs, $ref).",
    input: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: {
        address: {
          type: "object",
          properties: { street: { type: "string" }, city: { type: "string" } },
        },
      },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false,
    },
    scopes: [],
    sideEffect: "read",
    handler: (args) => ({ received: args }),
  }),
];
