import { createSearchParamsCache, parseAsString } from "nuqs/server";

/** Which release the PCR table compares against (default: the one the document matched). */
export const enclaveAttestationSearchParams = {
  against: parseAsString,
};

export const enclaveAttestationSearchParamsCache = createSearchParamsCache(enclaveAttestationSearchParams);
