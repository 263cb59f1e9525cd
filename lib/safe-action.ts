/**
 * The one chain every server action goes through: request id -> authentication -> permission -> input validation
 * (zod, field errors back to the form) -> the action -> an audit record of the outcome. Unexpected errors reach the
 * client as a generic message with the request id; the details go to the server log only.
 *
 * Each action declares its audit name and the permission it needs in `.metadata({ action, permission })`.
 * A test (lib/auth/authorization.test.ts) discovers every server action and proves the checks hold.
 */
import "server-only";
import { createSafeActionClient, DEFAULT_SERVER_ERROR_MESSAGE } from "next-safe-action";
import { z } from "zod";
import { appendAudit } from "./audit/trail";
import { AuthorizationError, getCurrentUser, type CurrentUser } from "./auth/session";
import { can, PERMISSIONS, type Permission } from "./auth/permissions";
import { getDb } from "./db/client";
import { getRequestId } from "./http/request-context";
import { logger } from "./log";

/** An error whose message is meant for the user (bad state, not found...). Anything else becomes generic. */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserFacingError";
  }
}

const metadataSchema = z.object({
  /** audit action name, e.g. "settings.update" */
  action: z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/),
  /** the permission required; "authenticated" = any signed-in user (sign-out); "public" = the sign-in form only */
  permission: z.union([z.enum(PERMISSIONS), z.literal("authenticated"), z.literal("public")]),
  /** whether this action changes state (and is therefore audited) */
  audited: z.boolean().optional(),
});

export type ActionMetadata = z.input<typeof metadataSchema>;

const baseClient = createSafeActionClient({
  defineMetadataSchema: () => metadataSchema,
  defaultValidationErrorsShape: "flattened",
  handleServerError(error, utils) {
    if (error instanceof AuthorizationError || error instanceof UserFacingError) return error.message;
    logger.error({ err: error, action: utils.metadata?.action }, "server action failed");
    return DEFAULT_SERVER_ERROR_MESSAGE;
  },
}).use(async ({ next }) => next({ ctx: { requestId: await getRequestId() } }));

/**
 * For actions that need a signed-in user with a permission. The audit record is written after the action,
 * with its outcome; a refused attempt is audited too (denied), so probing leaves a trace.
 */
export const actionClient = baseClient.use(async ({ next, metadata, ctx, clientInput }) => {
  const user = await getCurrentUser();
  // audited: false means the action writes its own record of what it did; refusals are always recorded here.
  const audit = (actor: CurrentUser | null, outcome: string) =>
    metadata.audited === false && outcome !== "denied"
      ? Promise.resolve()
      : appendAudit(getDb(), {
          actorId: actor?.id ?? null,
          actorName: actor?.email ?? "anonymous",
          actorRole: actor?.role ?? "anonymous",
          action: metadata.action,
          target: targetOf(clientInput),
          params: clientInput,
          outcome,
          requestId: ctx.requestId,
        }).then(() => undefined);

  if (metadata.permission === "public") throw new Error(`action ${metadata.action} is public: use publicActionClient`);
  if (!user) {
    await audit(null, "denied");
    throw new AuthorizationError("unauthenticated");
  }
  if (metadata.permission !== "authenticated" && !can(user.role, metadata.permission)) {
    await audit(user, "denied");
    throw new AuthorizationError("forbidden", metadata.permission as Permission);
  }
  try {
    const result = await next({ ctx: { user } });
    await audit(user, result.success ? "success" : result.validationErrors ? "invalid_input" : "failure");
    return result;
  } catch (error) {
    // Redirects and notFound() are control flow, not failures.
    if (isNextControlFlow(error)) {
      await audit(user, "success");
    } else {
      await audit(user, "failure");
    }
    throw error;
  }
});

/** Only for the sign-in form: it records its own audit trail (lib/auth/sign-in.ts). */
export const publicActionClient = baseClient.use(async ({ next, metadata }) => {
  if (metadata.permission !== "public") throw new Error(`action ${metadata.action} needs a permission: use actionClient`);
  return next({ ctx: {} });
});

function targetOf(input: unknown): string {
  if (input && typeof input === "object") {
    const record = input as Record<string, unknown>;
    for (const key of ["target", "id", "userId", "enclaveId", "releaseId", "alertId", "key"]) {
      if (typeof record[key] === "string") return `${key}:${record[key] as string}`;
    }
  }
  return "";
}

function isNextControlFlow(error: unknown): boolean {
  const digest = (error as { digest?: unknown } | null)?.digest;
  return typeof digest === "string" && /^(NEXT_REDIRECT|NEXT_NOT_FOUND|NEXT_HTTP_ERROR_FALLBACK)/.test(digest);
}
