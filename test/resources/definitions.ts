// Resources, templates and prompts shared by the resource and prompt tests (and the stdio
// child in stdio-server.ts). The conformance suite's fixtures (test://static-text,
// test_prompt_with_arguments...) plus cases for errors, deadlines and scopes.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { ProtocolError } from "@modelcontextprotocol/client";
import * as z from "zod";
import {
  defineResource,
  defineResourceTemplate,
  definePrompt,
  notFound,
  type PromptDefinition,
  type ResourceDefinition,
  type ResourceTemplateDefinition,
} from "../../src/index.js";

export const SECRET_SCOPE = "secrets:read";
/** In the cause of the failing handlers: must reach the server log, never a client. */
export const CAUSE_SECRET = "db-password-hunter2 at /srv/app/db.ts:12";
export const STATIC_TEXT = "This is the content of the static text resource.";
/** A 1x1 transparent PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
export const CITIES = ["paris", "park", "party", "prague", "porto", "berlin"];
export const SLOW_TIMEOUT_MS = 150;

/** Every `aborted` a slow read saw (its signal fired at the deadline). */
export const aborted: string[] = [];

export function createResources(): ResourceDefinition[] {
  return [
    defineResource({
      uri: "test://static-text",
      name: "static-text",
      title: "Static text",
      description: "A static text resource.",
      mimeType: "text/plain",
      read: () => STATIC_TEXT,
    }),
    defineResource({
      uri: "test://static-binary",
      name: "static-binary",
      description: "A 1x1 PNG.",
      mimeType: "image/png",
      read: () => Buffer.from(PNG_BASE64, "base64"),
    }),
    defineResource({
      uri: "test://watched-resource",
      name: "watched",
      description: "Changes; subscribe to it.",
      read: () => ({ text: `now ${Date.now()}`, mimeType: "text/markdown" }),
    }),
    defineResource({
      uri: "test://secret",
      name: "secret",
      description: "Only for callers with secrets:read.",
      scopes: [SECRET_SCOPE],
      read: (ctx) => `secret for ${ctx.principal.subject}`,
    }),
    defineResource({
      uri: "test://multi",
      name: "multi",
      description: "Several contents.",
      read: (ctx) => [
        { uri: `${ctx.uri}/a`, mimeType: "text/plain", text: "a" },
        { uri: `${ctx.uri}/b`, mimeType: "application/octet-stream", blob: "AAEC" },
      ],
    }),
    defineResource({
      uri: "test://broken",
      name: "broken",
      description: "Throws.",
      read: () => {
        throw new Error(`connect ECONNREFUSED ${CAUSE_SECRET}`);
      },
    }),
    defineResource({
      uri: "test://bad-shape",
      name: "bad-shape",
      description: "Returns something that is not resource contents.",
      read: () => ({ nope: CAUSE_SECRET }) as unknown as string,
    }),
    defineResource({
      uri: "test://slow",
      name: "slow",
      description: "Never finishes before its deadline.",
      timeoutMs: SLOW_TIMEOUT_MS,
      read: async (ctx) => {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        aborted.push(ctx.uri);
        await sleep(10_000, undefined, { ref: false });
        return "too late";
      },
    }),
  ];
}

export function createTemplates(): ResourceTemplateDefinition[] {
  return [
    defineResourceTemplate({
      uriTemplate: "test://template/{id}/data",
      name: "template-data",
      description: "Data by id.",
      mimeType: "application/json",
      read: (_uri, { id }) => {
        if (id === "404") throw notFound(`No item ${String(id)}.`);
        return JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` });
      },
      complete: {
        id: (value) => ["123", "124", "200", "404"].filter((id) => id.startsWith(value)),
      },
    }),
    defineResourceTemplate({
      uriTemplate: "test://private/{name}",
      name: "private",
      description: "Scoped family.",
      scopes: [SECRET_SCOPE],
      read: (_uri, { name }) => `private ${String(name)}`,
      complete: { name: () => ["alpha", "beta"] },
    }),
  ];
}

export function createPrompts(): PromptDefinition[] {
  return [
    definePrompt({
      name: "test_simple_prompt",
      description: "A simple prompt without arguments.",
      get: () => "This is a simple prompt for testing.",
    }),
    definePrompt({
      name: "test_prompt_with_arguments",
      description: "A prompt with two required arguments.",
      arguments: [
        { name: "arg1", description: "First test argument", required: true },
        { name: "arg2", description: "Second test argument", required: true },
      ],
      get: ({ arg1, arg2 }) => [
        {
          role: "user",
          content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
      complete: {
        arg1: (value, ctx) =>
          CITIES.filter((c) => c.startsWith(value) && c !== ctx.arguments["arg2"]),
      },
    }),
    definePrompt({
      name: "test_prompt_with_embedded_resource",
      description: "A prompt that embeds a resource.",
      arguments: [{ name: "resourceUri", description: "URI to embed", required: true }],
      get: ({ resourceUri }) => [
        {
          role: "user",
          content: {
            type: "resource",
            resource: {
              uri: resourceUri,
              mimeType: "text/plain",
              text: "Embedded resource content for testing.",
            },
          },
        },
        {
          role: "user",
          content: { type: "text", text: "Please process the embedded resource above." },
        },
      ],
    }),
    definePrompt({
      name: "test_prompt_with_image",
      description: "A prompt with an image.",
      get: () => [
        { role: "user", content: { type: "image", data: PNG_BASE64, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "Please analyze the image above." } },
      ],
    }),
    definePrompt({
      name: "review",
      title: "Review",
      description: "A zod-typed prompt.",
      arguments: z.object({
        topic: z.string().min(3).describe("What to review"),
        tone: z.enum(["formal", "casual"]).optional(),
      }),
      get: ({ topic, tone }) => ({
        description: `Review of ${topic}`,
        messages: [
          {
            role: "user",
            content: { type: "text", text: `Review ${topic} (${tone ?? "neutral"})` },
          },
        ],
      }),
      complete: { tone: (value) => ["formal", "casual"].filter((t) => t.startsWith(value)) },
    }),
    definePrompt({
      name: "many",
      description: "Completes to 150 values.",
      arguments: [{ name: "n" }],
      get: ({ n }) => `n=${n ?? "none"}`,
      complete: { n: () => Array.from({ length: 150 }, (_, i) => `v${i}`) },
    }),
    definePrompt({
      name: "secret_prompt",
      description: "Only for callers with secrets:read.",
      scopes: [SECRET_SCOPE],
      arguments: [{ name: "q" }],
      get: () => "secret prompt",
      complete: { q: () => ["x"] },
    }),
    definePrompt({
      name: "broken_prompt",
      description: "Throws.",
      get: () => {
        throw new Error(CAUSE_SECRET);
      },
    }),
    definePrompt({
      name: "bad_messages",
      description: "Returns a malformed message.",
      get: () => [{ role: "robot", content: { type: "text", text: CAUSE_SECRET } }] as never,
    }),
  ];
}

/** The SDK client's error for a request the server refused (asserting that it was refused). */
export async function rpcError(call: Promise<unknown>): Promise<ProtocolError> {
  const error = await call.then(
    (value) => assert.fail(`expected an error, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${String(error)}`);
  return error;
}
