/**
 * Lab identities. Each lab access key maps to one principal with an identity (IAM) policy, so key policies and
 * CloudTrail's `userIdentity` behave as they would for an IAM user or an assumed role in a real account.
 * These secrets exist only for the local lab; they open nothing outside it.
 */

export type LabPrincipalName = "console" | "enclave" | "admin" | "rogue";

export interface LabCredential {
  /** Short name used by the lab and in the README (`lab-console`, ...). */
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  principal: PrincipalTemplate;
}

/** A principal before the account id is known: ARNs are built per emulator from its accountId. */
export type PrincipalTemplate =
  | { type: "IAMUser"; userName: string; principalId: string; identityPolicy: string[] }
  | { type: "AssumedRole"; roleName: string; roleId: string; sessionName: string; identityPolicy: string[] };

/** A principal as seen by one emulator: ARNs resolved. */
export interface Principal {
  type: "IAMUser" | "AssumedRole";
  accessKeyId: string;
  accountId: string;
  /** The caller ARN (user ARN, or the STS assumed-role ARN). */
  arn: string;
  /** ARNs a key policy `Principal.AWS` may name to match this caller (user ARN, or the role ARN). */
  policyArns: string[];
  /** CloudTrail's `Username` for LookupEvents (user name, or the role session name). */
  username: string;
  principalId: string;
  roleArn?: string;
  roleName?: string;
  roleId?: string;
  /** Actions the identity policy allows (`service:Action`, `*` wildcards), on any resource. */
  identityPolicy: string[];
}

const CONSOLE_READ = [
  "kms:Describe*",
  "kms:Get*",
  "kms:List*",
  "cloudtrail:LookupEvents",
  "logs:Describe*",
  "logs:Get*",
  "logs:FilterLogEvents",
  "logs:StartQuery",
  "logs:StopQuery",
];

export const LAB_CREDENTIALS: Record<LabPrincipalName, LabCredential> = {
  console: {
    name: "lab-console",
    accessKeyId: "AKIALABCONSOLE000001",
    secretAccessKey: "lab-console/only-valid-against-the-lab-emulator",
    principal: { type: "IAMUser", userName: "console-reader", principalId: "AIDALABCONSOLEREADER1", identityPolicy: CONSOLE_READ },
  },
  enclave: {
    name: "lab-enclave",
    accessKeyId: "ASIALABENCLAVE000001",
    secretAccessKey: "lab-enclave/only-valid-against-the-lab-emulator",
    principal: {
      type: "AssumedRole",
      roleName: "acra-enclave-role",
      roleId: "AROALABACRAENCLAVE001",
      sessionName: "i-0lab0000000000001",
      identityPolicy: [
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:GenerateRandom",
        "kms:DescribeKey",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
      ],
    },
  },
  admin: {
    name: "lab-admin",
    accessKeyId: "AKIALABADMIN00000001",
    secretAccessKey: "lab-admin/only-valid-against-the-lab-emulator",
    principal: { type: "IAMUser", userName: "lab-admin", principalId: "AIDALABADMINUSER0001", identityPolicy: ["kms:*", "cloudtrail:*", "logs:*"] },
  },
  rogue: {
    name: "lab-rogue",
    accessKeyId: "AKIALABROGUE00000001",
    secretAccessKey: "lab-rogue/only-valid-against-the-lab-emulator",
    // Leaked developer credentials: broad KMS data-plane rights in IAM, which only a key policy that does not
    // delegate Decrypt to IAM (no "root" statement for it) can stop.
    principal: {
      type: "IAMUser",
      userName: "dev-rogue",
      principalId: "AIDALABROGUEUSER0001",
      identityPolicy: ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:ListKeys", "kms:ListAliases"],
    },
  },
};

export const DEFAULT_LAB_CREDENTIALS: LabCredential[] = Object.values(LAB_CREDENTIALS);

export function resolvePrincipal(credential: LabCredential, accountId: string): Principal {
  const t = credential.principal;
  if (t.type === "IAMUser") {
    const arn = `arn:aws:iam::${accountId}:user/${t.userName}`;
    return {
      type: "IAMUser",
      accessKeyId: credential.accessKeyId,
      accountId,
      arn,
      policyArns: [arn],
      username: t.userName,
      principalId: t.principalId,
      identityPolicy: t.identityPolicy,
    };
  }
  const roleArn = `arn:aws:iam::${accountId}:role/${t.roleName}`;
  return {
    type: "AssumedRole",
    accessKeyId: credential.accessKeyId,
    accountId,
    arn: `arn:aws:sts::${accountId}:assumed-role/${t.roleName}/${t.sessionName}`,
    policyArns: [roleArn, `arn:aws:sts::${accountId}:assumed-role/${t.roleName}/${t.sessionName}`],
    username: t.sessionName,
    principalId: `${t.roleId}:${t.sessionName}`,
    roleArn,
    roleName: t.roleName,
    roleId: t.roleId,
    identityPolicy: t.identityPolicy,
  };
}

/** Client configuration for the real AWS SDK v3 clients, pointed at the emulator as one lab principal. */
export function labAwsClientConfig(
  endpoint: string,
  region: string,
  principal: LabPrincipalName | LabCredential,
): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  const credential = typeof principal === "string" ? LAB_CREDENTIALS[principal] : principal;
  return {
    endpoint,
    region,
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
  };
}
