import type { Variables } from "@modelcontextprotocol/server";
import type { ResourceDefinition, ResourceTemplateDefinition } from "./define-resource.js";

/** The resources and resource templates of one server, checked once at startup. */
export interface ResourceRegistry {
  readonly resources: readonly ResourceDefinition[];
  readonly templates: readonly ResourceTemplateDefinition[];
  /** The resource with exactly this URI. */
  resource(uri: string): ResourceDefinition | undefined;
  /** The template with exactly this URI template (completion's `ref/resource`). */
  template(uriTemplate: string): ResourceTemplateDefinition | undefined;
  /** What serves `uri`: the resource with that URI, else the first template matching it. */
  resolve(uri: string): Resolved | undefined;
}

export type Resolved =
  | { readonly definition: ResourceDefinition; readonly variables?: undefined }
  | { readonly definition: ResourceTemplateDefinition; readonly variables: Variables };

/**
 * Checks the `resources` and `resourceTemplates` options. Returns undefined when there
 * are none, so a tools-only server serves exactly what it served before.
 */
export function createResourceRegistry(
  resources: unknown,
  templates: unknown,
): ResourceRegistry | undefined {
  const fixed = checkList<ResourceDefinition>(resources, "resources", "resource", "defineResource");
  const families = checkList<ResourceTemplateDefinition>(
    templates,
    "resourceTemplates",
    "resourceTemplate",
    "defineResourceTemplate",
  );
  if (fixed.length === 0 && families.length === 0) return undefined;
  const byUri = new Map<string, ResourceDefinition>();
  const byHref = new Map<string, ResourceDefinition>();
  for (const resource of fixed) {
    if (byUri.has(resource.uri))
      throw new TypeError(`Two resources have the URI '${resource.uri}'; URIs must be unique.`);
    byUri.set(resource.uri, resource);
    byHref.set(new URL(resource.uri).href, resource);
  }
  const byTemplate = new Map<string, ResourceTemplateDefinition>();
  for (const template of families) {
    if (byTemplate.has(template.uriTemplate)) {
      throw new TypeError(
        `Two resource templates have the URI template '${template.uriTemplate}'; they must be unique.`,
      );
    }
    byTemplate.set(template.uriTemplate, template);
  }
  return {
    resources: Object.freeze([...fixed]),
    templates: Object.freeze([...families]),
    resource: (uri) => byUri.get(uri),
    template: (uriTemplate) => byTemplate.get(uriTemplate),
    resolve(uri) {
      const exact = byUri.get(uri) ?? byHref.get(normalize(uri));
      if (exact) return { definition: exact };
      for (const template of families) {
        const variables = template.match(uri);
        if (variables) return { definition: template, variables };
      }
      return undefined;
    },
  };
}

function normalize(uri: string): string {
  try {
    return new URL(uri).href;
  } catch {
    return uri;
  }
}

function checkList<T extends { kind: string }>(
  given: unknown,
  option: string,
  kind: T["kind"],
  builder: string,
): readonly T[] {
  if (given === undefined) return [];
  if (!Array.isArray(given))
    throw new TypeError(`${option} must be an array of ${builder}(...) results.`);
  return (given as unknown[]).map((candidate, i) => {
    if (
      typeof candidate !== "object" ||
      candidate === null ||
      (candidate as { kind?: unknown }).kind !== kind
    ) {
      throw new TypeError(`${option}[${i}] was not built with ${builder}(...).`);
    }
    return candidate as T;
  });
}
