/** The shape of a CLI command module in bin/commands/ (see bin/cli.ts). */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
