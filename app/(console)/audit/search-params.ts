import { createSearchParamsCache, parseAsInteger, parseAsIsoDate, parseAsString, parseAsStringLiteral } from "nuqs/server";

export const auditSearchParams = {
  actor: parseAsString.withDefault(""),
  action: parseAsString.withDefault(""),
  outcome: parseAsStringLiteral(["success", "failure", "denied", "invalid_input"] as const),
  from: parseAsIsoDate,
  to: parseAsIsoDate,
  page: parseAsInteger.withDefault(1),
};

export const auditSearchParamsCache = createSearchParamsCache(auditSearchParams);
