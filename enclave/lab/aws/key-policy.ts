/**
 * KMS key policy evaluation, the subset the lab needs: Allow/Deny statements with Principal, Action, Resource and
 * Condition (string operators and Null, with IfExists), and the account-root principal that delegates to the
 * caller's IAM (identity) policy. An explicit Deny wins; otherwise some statement must allow. Pure logic.
 * Reference: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
 */
import { AwsError } from "./errors";
import type { Principal } from "./principals";

interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal: "*" | { AWS: string | string[] };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface AuthorizationRequest {
  action: string;
  principal: Principal;
  resourceArn: string;
  /** Condition keys present on the request (name case does not matter); absent keys are undefined. */
  conditionValues: Record<string, string>;
}

const OPERATORS = new Set([
  "StringEquals",
  "StringNotEquals",
  "StringEqualsIgnoreCase",
  "StringNotEqualsIgnoreCase",
  "StringLike",
  "StringNotLike",
  "Null",
  "Bool",
]);

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function globToRegExp(glob: string, flags: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, flags);
}

export const actionMatches = (pattern: string, action: string): boolean => globToRegExp(pattern, "i").test(action);

function parseStatements(policy: string): Statement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new AwsError("MalformedPolicyDocumentException", "The key policy is not valid JSON.");
  }
  const statements = asArray((doc as { Statement?: unknown } | null)?.Statement as Statement | Statement[] | undefined);
  if (statements.length === 0) throw new AwsError("MalformedPolicyDocumentException", "Policy contains a statement with no principal.");
  for (const s of statements) {
    if (!s || (s.Effect !== "Allow" && s.Effect !== "Deny")) {
      throw new AwsError("MalformedPolicyDocumentException", "Policy statement Effect must be Allow or Deny.");
    }
    if (s.Principal === undefined) throw new AwsError("MalformedPolicyDocumentException", "Policy contains a statement with no principal.");
    if (asArray(s.Action).length === 0) throw new AwsError("MalformedPolicyDocumentException", "Policy contains a statement with no action.");
    for (const operator of Object.keys(s.Condition ?? {})) {
      if (!OPERATORS.has(operator.replace(/IfExists$/, ""))) {
        throw new AwsError("MalformedPolicyDocumentException", `Policy contains an unsupported condition operator: ${operator}`);
      }
    }
  }
  return statements;
}

/** Throws MalformedPolicyDocumentException for a document the evaluator cannot read. */
export function validateKeyPolicy(policy: string): void {
  parseStatements(policy);
}

export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Id: "key-default-1",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  });
}

function conditionHolds(operator: string, key: string, expected: string[], values: Record<string, string>): boolean {
  const ifExists = operator.endsWith("IfExists");
  const op = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const actual = values[key.toLowerCase()];
  if (op === "Null") {
    const wantsAbsent = expected.some((v) => String(v).toLowerCase() === "true");
    return wantsAbsent ? actual === undefined : actual !== undefined;
  }
  if (actual === undefined) return ifExists || op.startsWith("StringNot");
  switch (op) {
    case "StringEquals":
      return expected.some((v) => v === actual);
    case "StringNotEquals":
      return !expected.some((v) => v === actual);
    case "StringEqualsIgnoreCase":
      return expected.some((v) => v.toLowerCase() === actual.toLowerCase());
    case "StringNotEqualsIgnoreCase":
      return !expected.some((v) => v.toLowerCase() === actual.toLowerCase());
    case "StringLike":
      return expected.some((v) => globToRegExp(v, "").test(actual));
    case "StringNotLike":
      return !expected.some((v) => globToRegExp(v, "").test(actual));
    case "Bool":
      return expected.some((v) => String(v).toLowerCase() === actual.toLowerCase());
    default:
      return false;
  }
}

function conditionsHold(statement: Statement, values: Record<string, string>): boolean {
  for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(block)) {
      if (!conditionHolds(operator, key, asArray(expected).map(String), values)) return false;
    }
  }
  return true;
}

type PrincipalMatch = "direct" | "account-root" | "none";

function principalMatch(statement: Statement, principal: Principal): PrincipalMatch {
  if (statement.Principal === "*") return "direct";
  let result: PrincipalMatch = "none";
  for (const entry of asArray(statement.Principal.AWS)) {
    if (entry === "*" || principal.policyArns.includes(entry)) return "direct";
    if (entry === principal.accountId || entry === `arn:aws:iam::${principal.accountId}:root`) result = "account-root";
  }
  return result;
}

export interface AuthorizationResult {
  allowed: boolean;
  explicitDeny: boolean;
}

/**
 * Decides a key-scoped action. A statement naming the account root allows only what the caller's identity
 * policy also allows (that is how KMS "enables IAM policies"); a Deny naming the root denies everyone in it.
 */
export function authorizeKeyAction(policy: string, request: AuthorizationRequest): AuthorizationResult {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.conditionValues)) values[key.toLowerCase()] = value;
  let allowed = false;
  for (const statement of parseStatements(policy)) {
    if (!asArray(statement.Action).some((pattern) => actionMatches(pattern, request.action))) continue;
    const resources = asArray(statement.Resource);
    if (resources.length > 0 && !resources.some((pattern) => globToRegExp(pattern, "").test(request.resourceArn))) continue;
    const match = principalMatch(statement, request.principal);
    if (match === "none" || !conditionsHold(statement, values)) continue;
    if (statement.Effect === "Deny") return { allowed: false, explicitDeny: true };
    if (match === "direct" || identityAllows(request.principal, request.action)) allowed = true;
  }
  return { allowed, explicitDeny: false };
}

/** Identity (IAM) policy check for actions that have no key policy (CreateKey, ListKeys, LookupEvents, logs:*). */
export function identityAllows(principal: Principal, action: string): boolean {
  return principal.identityPolicy.some((pattern) => actionMatches(pattern, action));
}
