import { createSearchParamsCache, parseAsString, parseAsStringLiteral } from "nuqs/server";

/** Every filter of the enclaves table lives in the URL, so a filtered view is a link you can paste into a ticket. */
export const enclavesSearchParams = {
  q: parseAsString.withDefault(""),
  state: parseAsStringLiteral(["RUNNING", "TERMINATING", "TERMINATED", "EXITED", "UNKNOWN"] as const),
  attestation: parseAsStringLiteral(["trusted", "untrusted", "stale", "unknown"] as const),
  region: parseAsString,
};

export const enclavesSearchParamsCache = createSearchParamsCache(enclavesSearchParams);
