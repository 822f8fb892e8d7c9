// The operation behind resources/read of one resource or resource template: what the
// pipeline's stages run (src/tool/operation.ts), made once per definition.
import type { Variables } from "@modelcontextprotocol/server";
import { defineOperation, thenMap } from "../tool/operation.js";
import type { ToolDefinition } from "../tool/types.js";
import {
  toContents,
  type ResourceContext,
  type ResourceDefinition,
  type ResourceTemplateDefinition,
} from "./define-resource.js";

type Readable = ResourceDefinition | ResourceTemplateDefinition;

const OPERATIONS = new WeakMap<Readable, ToolDefinition>();

/**
 * The operation reading `definition`. Its name, the audit event's `tool` and the metrics
 * label, is "resource:<uri>" or "resource-template:<uriTemplate>" (never a tool's name: tool
 * names have no ':'); the URI read is its argument `uri`.
 */
export function resourceOperation(definition: Readable): ToolDefinition {
  let operation = OPERATIONS.get(definition);
  if (!operation) OPERATIONS.set(definition, (operation = build(definition)));
  return operation;
}

function build(definition: Readable): ToolDefinition {
  return defineOperation({
    name:
      definition.kind === "resource"
        ? `resource:${definition.uri}`
        : `resource-template:${definition.uriTemplate}`,
    scopes: definition.scopes,
    timeoutMs: definition.timeoutMs,
    parseInput(raw) {
      const uri = (raw as { uri?: unknown } | null)?.uri;
      if (typeof uri !== "string")
        return { ok: false, issues: [{ path: "/uri", message: "must be a string" }] };
      if (definition.kind === "resource") return { ok: true, value: { uri } };
      // The template's variables are what its read is called with.
      const variables = definition.match(uri);
      if (!variables) {
        return {
          ok: false,
          issues: [{ path: "/uri", message: `does not match ${definition.uriTemplate}` }],
        };
      }
      return { ok: true, value: { uri, variables } };
    },
    run(args, ctx) {
      const { uri, variables } = args as { uri: string; variables?: Variables };
      const readCtx: ResourceContext = {
        uri,
        principal: ctx.principal,
        log: ctx.log,
        // Read lazily: the call's signal is made only for a read that uses it.
        get signal() {
          return ctx.signal;
        },
      };
      const value =
        definition.kind === "resource"
          ? definition.read(readCtx)
          : definition.read(uri, variables ?? {}, readCtx);
      // A malformed value throws here: a bug of the resource, `internal` with its cause logged.
      return thenMap(value, (v) => ({ contents: toContents(v, uri, definition.mimeType) }));
    },
  });
}
