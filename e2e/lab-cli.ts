import { execFileSync } from "node:child_process";
import path from "node:path";
import { labDir } from "./support";

const root = path.resolve(__dirname, "..");

/** Runs `npm run --silent cli -- lab ...` against the e2e lab, as a person in another terminal would. */
export function labCli(...args: string[]): string {
  return execFileSync(path.join(root, "node_modules", ".bin", "tsx"), ["bin/cli.ts", "lab", ...args, "--data-dir", labDir()], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
}
