#!/usr/bin/env node
// The `toolgate` executable. Everything testable lives in run.ts; this file only binds
// it to the real process.
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
