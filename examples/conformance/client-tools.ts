// The conformance scenarios' tools that use the client while they run: progress,
// client logging, sampling and elicitation (the last two need a session or stdio).
import * as z from "zod";
import { defineTool, toolResult, type ToolDefinition } from "../../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t: string) => toolResult({ content: [{ type: "text", text: t }] });
const noArgs = z.object({});
const base = { version: "1.0.0", scopes: [], sideEffect: "read" } as const;

// SEP-1330: every enum form an elicitation schema may use.
const ENUM_SCHEMA = {
  type: "object",
  properties: {
    untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
    titledSingle: {
      type: "string",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
} as const;

export const clientTools: ToolDefinition[] = [
  defineTool({
    ...base,
    name: "test_tool_with_progress",
    description: "Reports progress 0, 50 and 100 of 100 while it runs.",
    input: noArgs,
    handler: async (_args, ctx) => {
      await ctx.progress(0, 100);
      await sleep(50);
      await ctx.progress(50, 100);
      await sleep(50);
      await ctx.progress(100, 100);
      return text("Progress test completed.");
    },
  }),
  defineTool({
    ...base,
    name: "test_tool_with_logging",
    description: "Sends three info log messages to the client while it runs.",
    input: noArgs,
    handler: async (_args, ctx) => {
      await ctx.clientLog("info", "Tool execution started");
      await sleep(50);
      await ctx.clientLog("info", "Tool processing data");
      await sleep(50);
      await ctx.clientLog("info", "Tool execution completed");
      return text("Logging test completed.");
    },
  }),
  defineTool({
    ...base,
    name: "test_sampling",
    description: "Asks the client's model to answer a prompt.",
    input: z.object({ prompt: z.string() }),
    handler: async ({ prompt }, ctx) => {
      const reply = await ctx.sample({
        messages: [{ role: "user", content: { type: "text", text: prompt } }],
        maxTokens: 100,
      });
      return text(`LLM response: ${reply.content.type === "text" ? reply.content.text : ""}`);
    },
  }),
  defineTool({
    ...base,
    name: "test_elicitation",
    description: "Asks the user for a username and an email address.",
    input: z.object({ message: z.string() }),
    handler: async ({ message }, ctx) => {
      const answer = await ctx.elicit({
        message,
        requestedSchema: {
          type: "object",
          properties: {
            username: { type: "string", description: "User's response" },
            email: { type: "string", description: "User's email address" },
          },
          required: ["username", "email"],
        },
      });
      return text(
        `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
      );
    },
  }),
  defineTool({
    ...base,
    name: "test_elicitation_sep1034_defaults",
    description: "Asks for input with a default for every primitive type (SEP-1034).",
    input: noArgs,
    handler: async (_args, ctx) => {
      const answer = await ctx.elicit({
        message: "Please review and update the form fields with defaults",
        requestedSchema: {
          type: "object",
          properties: {
            name: { type: "string", default: "John Doe" },
            age: { type: "integer", default: 30 },
            score: { type: "number", default: 95.5 },
            status: { type: "string", enum: ["active", "inactive", "pending"], default: "active" },
            verified: { type: "boolean", default: true },
          },
        },
      });
      return text(
        `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
      );
    },
  }),
  defineTool({
    ...base,
    name: "test_elicitation_sep1330_enums",
    description: "Asks for input with every enum form (SEP-1330).",
    input: noArgs,
    handler: async (_args, ctx) => {
      const answer = await ctx.elicit({
        message: "Please select options from the enum fields",
        requestedSchema: ENUM_SCHEMA as never,
      });
      return text(
        `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
      );
    },
  }),
];
