/**
 * `npm run --silent cli -- <command> [options]`: everything a person runs outside the browser.
 * Commands are the modules in bin/commands/ (one file each, discovered at run time, so adding a command is adding
 * a file). Exit codes: 0 success, 1 a negative answer (e.g. "not trusted"), 2 bad arguments or unreadable input.
 */
import fs from "node:fs";
import path from "node:path";
import type { CliCommand } from "./command";

async function loadCommands(): Promise<CliCommand[]> {
  const dir = path.join(__dirname, "commands");
  const files = fs.readdirSync(dir).filter((file) => /\.ts$/.test(file) && !file.endsWith(".test.ts")).sort();
  const commands: CliCommand[] = [];
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as { command?: CliCommand; default?: { command?: CliCommand } };
    const command = mod.command ?? mod.default?.command;
    if (command) commands.push(command);
  }
  return commands.sort((a, b) => a.name.localeCompare(b.name));
}

function help(commands: CliCommand[]): string {
  const width = Math.max(...commands.map((command) => command.name.length), 4);
  return [
    "usage: npm run --silent cli -- <command> [options]",
    "",
    "commands:",
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "`<command> --help` shows a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help(commands));
    return name ? 0 : 2;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    console.error(`unknown command "${name}"\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  },
);
