// Resources: data the client reads by URI (resources/list, resources/read) and resource
// templates: families of them (resources/templates/list), one URI template each.
// https://modelcontextprotocol.io/specification/2025-11-25/server/resources
import {
  UriTemplate,
  type Annotations,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type Variables,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import { checkCompleters, type Completer } from "../completion/completer.js";
import { deepFreeze } from "../util/deep-freeze.js";
import {
  checkKnownKeys,
  checkMimeType,
  checkOptionalString,
  checkScopes,
  checkTimeout,
} from "./definition-checks.js";

/** What a `read` receives. */
export interface ResourceContext {
  /** The URI being read, exactly as the client sent it. */
  readonly uri: string;
  /** Aborts at the read's deadline or when the client cancels. Pass it to every I/O call. */
  readonly signal: AbortSignal;
  /** Who reads (anonymous unless auth is configured). */
  readonly principal: Principal;
  /** A child logger bound to this read. Goes to the server log only. */
  readonly log: Logger;
}

export type ResourceContents = ReadResourceResult["contents"];

/**
 * What a `read` returns: a string (text), bytes (sent base64), `{ text }` or
 * `{ blob: base64 }` (each with an optional `mimeType`), or the spec's full `contents`
 * array (several items, other URIs). The single forms are sent with the read URI and
 * the definition's `mimeType` (default `text/plain` for text, `application/octet-stream`
 * for bytes).
 */
export type ResourceReadValue =
  | string
  | Uint8Array
  | { readonly text: string; readonly mimeType?: string }
  | { readonly blob: string; readonly mimeType?: string }
  | ResourceContents;

interface CommonSpec {
  /** Programmatic name (shown when there is no title). */
  name: string;
  /** Human-readable name for display. */
  title?: string;
  description?: string;
  /** MIME type of the content, e.g. "text/plain", "image/png". */
  mimeType?: string;
  /** Audience, priority and last-modified hints for clients. */
  annotations?: Annotations;
  /** Scopes the caller's token must carry to see and read it (auth on). Default none. */
  scopes?: readonly string[];
  /** Deadline of one read in milliseconds (default: the server's, 30 000). */
  timeoutMs?: number;
}

export interface ResourceSpec extends CommonSpec {
  /** An absolute URI, e.g. "file:///logs/app.log", "test://static-text". */
  uri: string;
  /** Size of the raw content in bytes, if known. */
  size?: number;
  read: (ctx: ResourceContext) => ResourceReadValue | Promise<ResourceReadValue>;
}

export interface ResourceTemplateSpec extends CommonSpec {
  /** An RFC 6570 URI template with at least one variable, e.g. "test://template/{id}/data". */
  uriTemplate: string;
  /** Reads one URI the template matches; `variables` are the values of its variables. */
  read: (
    uri: string,
    variables: Variables,
    ctx: ResourceContext,
  ) => ResourceReadValue | Promise<ResourceReadValue>;
  /** Completion of variables (completion/complete with `ref/resource`), by variable name. */
  complete?: Readonly<Record<string, Completer>>;
}

interface CommonDefinition {
  readonly name: string;
  readonly mimeType: string | undefined;
  readonly scopes: readonly string[];
  readonly timeoutMs: number | undefined;
}

export interface ResourceDefinition extends CommonDefinition {
  readonly kind: "resource";
  readonly uri: string;
  /** The resources/list entry. */
  readonly listing: Resource;
  readonly read: ResourceSpec["read"];
}

export interface ResourceTemplateDefinition extends CommonDefinition {
  readonly kind: "resourceTemplate";
  readonly uriTemplate: string;
  readonly variableNames: readonly string[];
  /** The variables of `uri` if the template matches it. */
  readonly match: (uri: string) => Variables | null;
  /** The resources/templates/list entry. */
  readonly listing: ResourceTemplateType;
  readonly read: ResourceTemplateSpec["read"];
  readonly complete: Readonly<Record<string, Completer>>;
}

const COMMON_KEYS = [
  "name",
  "title",
  "description",
  "mimeType",
  "annotations",
  "scopes",
  "timeoutMs",
  "read",
];
const RESOURCE_KEYS = [...COMMON_KEYS, "uri", "size"];
const TEMPLATE_KEYS = [...COMMON_KEYS, "uriTemplate", "complete"];

/**
 * Defines a resource with a fixed URI. Every option is checked here, once: a bad
 * definition is a `TypeError` at startup that names the field.
 */
export function defineResource(spec: ResourceSpec): ResourceDefinition {
  if (typeof spec !== "object" || spec === null)
    throw new TypeError("defineResource expects an options object.");
  const where = `Resource '${String(spec.uri)}'`;
  checkKnownKeys(spec, RESOURCE_KEYS, where);
  if (typeof spec.uri !== "string" || !isAbsoluteUri(spec.uri)) {
    throw new TypeError(`${where}: uri must be an absolute URI such as "file:///data/report.txt".`);
  }
  if (UriTemplate.isTemplate(spec.uri)) {
    throw new TypeError(
      `${where}: uri contains a template expression; use defineResourceTemplate.`,
    );
  }
  const common = checkCommon(spec, where);
  if (spec.size !== undefined && (!Number.isSafeInteger(spec.size) || spec.size < 0))
    throw new TypeError(`${where}: size must be a non-negative integer number of bytes.`);
  if (typeof spec.read !== "function") throw new TypeError(`${where}: read must be a function.`);
  const listing: Resource = { uri: spec.uri, name: spec.name, ...listingFields(spec, common) };
  if (spec.size !== undefined) listing.size = spec.size;
  return Object.freeze({
    kind: "resource",
    uri: spec.uri,
    ...common,
    listing: deepFreeze(listing),
    read: spec.read,
  });
}

/**
 * Defines a resource template: every URI matching `uriTemplate` is readable, `read`
 * receiving the values of its variables. `complete` suggests values for variables.
 */
export function defineResourceTemplate(spec: ResourceTemplateSpec): ResourceTemplateDefinition {
  if (typeof spec !== "object" || spec === null)
    throw new TypeError("defineResourceTemplate expects an options object.");
  const where = `Resource template '${String(spec.uriTemplate)}'`;
  checkKnownKeys(spec, TEMPLATE_KEYS, where);
  if (typeof spec.uriTemplate !== "string" || spec.uriTemplate === "")
    throw new TypeError(`${where}: uriTemplate must be an RFC 6570 URI template string.`);
  let template: UriTemplate;
  try {
    template = new UriTemplate(spec.uriTemplate);
  } catch (error) {
    throw new TypeError(
      `${where}: uriTemplate is not a valid URI template (${(error as Error).message}).`,
    );
  }
  const variableNames = Object.freeze([...template.variableNames]);
  if (variableNames.length === 0) {
    throw new TypeError(
      `${where}: uriTemplate has no {variables}; use defineResource for a fixed URI.`,
    );
  }
  const common = checkCommon(spec, where);
  if (typeof spec.read !== "function") throw new TypeError(`${where}: read must be a function.`);
  const complete = checkCompleters(spec.complete, variableNames, "variable", where);
  const listing: ResourceTemplateType = {
    uriTemplate: spec.uriTemplate,
    name: spec.name,
    ...listingFields(spec, common),
  };
  return Object.freeze({
    kind: "resourceTemplate",
    uriTemplate: spec.uriTemplate,
    variableNames,
    match: (uri: string) => template.match(uri),
    ...common,
    listing: deepFreeze(listing),
    read: spec.read,
    complete,
  });
}

function checkCommon(spec: CommonSpec, where: string): CommonDefinition {
  if (typeof spec.name !== "string" || spec.name.trim() === "")
    throw new TypeError(`${where}: name is required (a short programmatic name).`);
  checkOptionalString(spec.title, "title", where);
  checkOptionalString(spec.description, "description", where);
  checkAnnotations(spec.annotations, where);
  return {
    name: spec.name,
    mimeType: checkMimeType(spec.mimeType, where),
    scopes: checkScopes(spec.scopes, where),
    timeoutMs: checkTimeout(spec.timeoutMs, where),
  };
}

function listingFields(spec: CommonSpec, common: CommonDefinition) {
  return {
    ...(spec.title === undefined ? {} : { title: spec.title }),
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(common.mimeType === undefined ? {} : { mimeType: common.mimeType }),
    ...(spec.annotations === undefined ? {} : { annotations: structuredClone(spec.annotations) }),
    // As for tools: the contract facts a client kit or gateway needs, under toolgate's prefix.
    _meta: { "toolgate/scopes": [...common.scopes] },
  };
}

function isAbsoluteUri(text: string): boolean {
  // RFC 3986 scheme ":" ..., without spaces or control characters.
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S*$/.test(text)) return false;
  if ([...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

const ANNOTATION_KEYS = ["audience", "priority", "lastModified"];

function checkAnnotations(annotations: unknown, where: string): void {
  if (annotations === undefined) return;
  if (typeof annotations !== "object" || annotations === null || Array.isArray(annotations))
    throw new TypeError(`${where}: annotations must be an object.`);
  checkKnownKeys(annotations, ANNOTATION_KEYS, `${where}: annotations`);
  const { audience, priority, lastModified } = annotations as Record<string, unknown>;
  if (
    audience !== undefined &&
    (!Array.isArray(audience) || !audience.every((a) => a === "user" || a === "assistant"))
  ) {
    throw new TypeError(`${where}: annotations.audience must be an array of "user", "assistant".`);
  }
  if (priority !== undefined && (typeof priority !== "number" || !(priority >= 0 && priority <= 1)))
    throw new TypeError(`${where}: annotations.priority must be a number from 0 to 1.`);
  if (
    lastModified !== undefined &&
    (typeof lastModified !== "string" || Number.isNaN(Date.parse(lastModified)))
  ) {
    throw new TypeError(`${where}: annotations.lastModified must be an ISO 8601 timestamp.`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The `contents` of a read from what `read` returned. A malformed value is a TypeError
 * (a bug in the resource, answered as an internal error with its cause logged).
 */
export function toContents(
  value: unknown,
  uri: string,
  mimeType: string | undefined,
): ResourceContents {
  if (typeof value === "string") return [{ uri, mimeType: mimeType ?? "text/plain", text: value }];
  if (value instanceof Uint8Array) {
    return [
      {
        uri,
        mimeType: mimeType ?? "application/octet-stream",
        blob: Buffer.from(value).toString("base64"),
      },
    ];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new TypeError("read returned an empty contents array");
    return value.map((item, i) => checkContentItem(item, `contents[${i}]`));
  }
  if (typeof value === "object" && value !== null) {
    const item = value as Record<string, unknown>;
    const own = typeof item["mimeType"] === "string" ? item["mimeType"] : undefined;
    if (typeof item["text"] === "string" && !("blob" in item)) {
      return [{ uri, mimeType: own ?? mimeType ?? "text/plain", text: item["text"] }];
    }
    if (typeof item["blob"] === "string" && !("text" in item)) {
      if (!BASE64.test(item["blob"]))
        throw new TypeError("read returned a blob that is not base64");
      return [{ uri, mimeType: own ?? mimeType ?? "application/octet-stream", blob: item["blob"] }];
    }
  }
  throw new TypeError(
    "read must return a string, bytes, { text }, { blob } or an array of resource contents",
  );
}

function checkContentItem(item: unknown, at: string): ResourceContents[number] {
  if (typeof item !== "object" || item === null) throw new TypeError(`${at} is not an object`);
  const entry = item as Record<string, unknown>;
  if (typeof entry["uri"] !== "string" || entry["uri"] === "")
    throw new TypeError(`${at}.uri must be a URI`);
  if (entry["mimeType"] !== undefined && typeof entry["mimeType"] !== "string")
    throw new TypeError(`${at}.mimeType must be a string`);
  const hasText = typeof entry["text"] === "string";
  const hasBlob = typeof entry["blob"] === "string";
  if (hasText === hasBlob) throw new TypeError(`${at} must have either text or blob`);
  if (hasBlob && !BASE64.test(entry["blob"] as string))
    throw new TypeError(`${at}.blob is not base64`);
  return entry as ResourceContents[number];
}
