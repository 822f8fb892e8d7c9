// The resources, templates and prompts the conformance suite's scenarios read and get.
import {
  definePrompt,
  defineResource,
  defineResourceTemplate,
  type PromptDefinition,
  type ResourceDefinition,
  type ResourceTemplateDefinition,
} from "../../src/index.js";
import { RED_PIXEL_PNG } from "./tools.js";

export const resources: ResourceDefinition[] = [
  defineResource({
    uri: "test://static-text",
    name: "static-text",
    description: "A static text resource.",
    mimeType: "text/plain",
    read: () => "This is the content of the static text resource.",
  }),
  defineResource({
    uri: "test://static-binary",
    name: "static-binary",
    description: "A 1x1 PNG image.",
    mimeType: "image/png",
    read: () => Buffer.from(RED_PIXEL_PNG, "base64"),
  }),
  defineResource({
    uri: "test://watched-resource",
    name: "watched-resource",
    description: "A resource clients may subscribe to.",
    mimeType: "text/plain",
    read: () => `Watched resource, read at ${new Date().toISOString()}.`,
  }),
];

export const resourceTemplates: ResourceTemplateDefinition[] = [
  defineResourceTemplate({
    uriTemplate: "test://template/{id}/data",
    name: "template-data",
    description: "Data for an id.",
    mimeType: "application/json",
    read: (_uri, { id }) =>
      JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
    complete: { id: (value) => ["123", "124", "200"].filter((id) => id.startsWith(value)) },
  }),
];

export const prompts: PromptDefinition[] = [
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
    get: ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`,
    // completion/complete: the suite asks for values of arg1.
    complete: {
      arg1: (value) => ["paris", "park", "party"].filter((v) => v.startsWith(value)),
    },
  }),
  definePrompt({
    name: "test_prompt_with_embedded_resource",
    description: "A prompt that embeds a resource.",
    arguments: [
      { name: "resourceUri", description: "URI of the resource to embed", required: true },
    ],
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
      { role: "user", content: { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  }),
];
