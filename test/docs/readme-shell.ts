// Runs README shell blocks as a reader would (`sh -c`, in the repository's root), with
// no registry reachable: npm commands must work from the checkout, never the network.
import { spawn } from "node:child_process";
import { minimalEnv, REPO_ROOT } from "../helpers/process.js";

/** The environment README commands run in: the test's minimum, npm kept off the network. */
export function readmeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return minimalEnv({
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_update_notifier: "false",
    ...extra,
  });
}

export interface ShRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `sh -c script`; rejects (after killing it) when it runs longer than `timeoutMs`. */
export function runSh(
  script: string,
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ShRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? readmeEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`'${script}' did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
