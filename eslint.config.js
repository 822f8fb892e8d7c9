// ESLint 9 flat config. Type-aware rules for TypeScript; plain syntax rules for JS.
import eslint from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  // Build output, installs and the CI-only tool install are not our source.
  globalIgnores(["dist/", "node_modules/", ".ci/tools/", "coverage/"]),

  eslint.configs.recommended,
  // Type-checked presets: promise and `any` misuse are the bugs that matter for a tool gateway.
  tseslint.configs.recommendedTypeChecked,
  // Light style rules only: the type-checked stylistic set adds churn (e.g. dot-notation on records).
  tseslint.configs.stylistic,

  {
    languageOptions: {
      // projectService finds the right tsconfig per file, with no list of project files to keep.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An unawaited promise in a handler loses its error and can outlive its deadline.
      "@typescript-eslint/no-floating-promises": "error",
      // A promise where void is expected (e.g. an event listener) swallows rejections.
      "@typescript-eslint/no-misused-promises": "error",
      // Matches tsconfig's verbatimModuleSyntax: type-only imports must say so.
      "@typescript-eslint/consistent-type-imports": "error",
      // Untyped values defeat the validation this project exists for; use `unknown`.
      "@typescript-eslint/no-explicit-any": "error",
      // Allow `_`-prefixed unused arguments (required positional parameters).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
    },
  },

  {
    // Node scripts and this file are plain JS, outside tsconfig: lint them without type info.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
  },

  {
    // Tests assert shapes at run time; `!` and poking at unknown results are fine there.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] },
          ],
        },
      ],
    },
  },
);
