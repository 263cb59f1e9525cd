import { createSearchParamsCache, parseAsString } from "nuqs/server";

export const policySearchParams = {
  environment: parseAsString.withDefault("production"),
};

export const policySearchParamsCache = createSearchParamsCache(policySearchParams);
