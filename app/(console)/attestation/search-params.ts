import { createSearchParamsCache, parseAsString, parseAsStringLiteral } from "nuqs/server";

/** The overview's filters live in the URL, so "every untrusted enclave in eu-west-1" is a link for a ticket. */
export const attestationSearchParams = {
  state: parseAsStringLiteral(["trusted", "untrusted", "stale", "unknown"] as const),
  region: parseAsString,
  /** a release id, or "none" for enclaves that match no release */
  release: parseAsString,
};

export const attestationSearchParamsCache = createSearchParamsCache(attestationSearchParams);
