/**
 * Runs once when the console's server starts: bring the database up to date, create the first admin if there is
 * no user, start the in-process worker loop (embedded default). A database that cannot be reached stops the process
 * with one line naming DATABASE_URL, not a stack trace.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startConsole } = await import("./lib/startup");
  await startConsole();
}
