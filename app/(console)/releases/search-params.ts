import { createSearchParamsCache, parseAsStringLiteral } from "nuqs/server";

export const releasesSearchParams = {
  status: parseAsStringLiteral(["pending", "approved", "revoked"] as const),
};

export const releasesSearchParamsCache = createSearchParamsCache(releasesSearchParams);
