// The toolgate CLI run in process (`runCli`, what `toolgate ...` runs), with its output
// captured, for tests that check exit codes and what the CLI prints.
import { runCli } from "../../src/cli/run.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliCaptured(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli([...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}
