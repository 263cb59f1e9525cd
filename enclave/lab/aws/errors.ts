/**
 * Errors in the shape AWS JSON 1.1 services return them: HTTP status, `x-amzn-ErrorType` header and a body
 * `{"__type": "...", "message": "..."}`. The SDK reads the type from either place and maps it to its modelled
 * exception class, so clients written against real AWS see the same `error.name`.
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const validation = (message: string): AwsError => new AwsError("ValidationException", message);

/** Logs calls parameter errors InvalidParameterException where KMS and CloudTrail say ValidationException. */
export const invalidParameter = (message: string): AwsError => new AwsError("InvalidParameterException", message);
