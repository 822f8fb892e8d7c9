// The current contracts of a gateway's upstream tools, as the gateway would pin them, for
// `toolgate contract check|snapshot|approve --config toolgate.yaml`: connects to each
// upstream once, lists its tools, and disconnects. Hidden tools are not published, so
// they are not pinned either.
import type { ToolContract } from "../contract/types.js";
import type { Logger } from "../log/logger.js";
import { checkGatewayOptions } from "./check-options.js";
import type { GatewayOptions } from "./options.js";
import { policyFor } from "./gateway-tool.js";
import { upstreamContract } from "./pinning.js";
import { createUpstream } from "./upstream.js";

export async function upstreamContracts(
  options: GatewayOptions,
  log: Logger,
): Promise<ToolContract[]> {
  checkGatewayOptions(options);
  const upstreams = Object.entries(options.upstreams).map(([key, upOptions]) =>
    // No restarts here: a failed first attempt is the answer.
    createUpstream(
      key,
      upOptions.prefix ?? key,
      upOptions,
      log,
      { onTools: () => undefined },
      { maxResultBytes: options.maxResultBytes },
    ),
  );
  try {
    await Promise.all(upstreams.map((up) => up.start()));
    const down = upstreams.filter((up) => up.state() !== "ready");
    if (down.length > 0) {
      throw new Error(
        `cannot list the tools of upstream ${down.map((up) => `'${up.name}'`).join(", ")}: ` +
          "it did not start or answer (see the log above)",
      );
    }
    const contracts: ToolContract[] = [];
    for (const up of upstreams) {
      for (const entry of up.tools() ?? []) {
        if (policyFor(up.options, entry.name).hidden === true) continue;
        contracts.push(upstreamContract(up.prefix, entry));
      }
    }
    return contracts;
  } finally {
    await Promise.all(upstreams.map((up) => up.close()));
  }
}
