import { HttpException } from '@nestjs/common';

/** One invalid field of a request: `field` is a dotted path (`address.zip`, `tags.1.name`). */
export interface FieldError {
  field: string;
  messages: string[];
}

/** The JSON body of every error response of our services. */
export interface ErrorBody {
  error: {
    status: number;
    /** Stable snake_case code clients can branch on (`validation_failed`, `not_found`, ...). */
    code: string;
    message: string;
    /** Field errors for validation failures; other errors may carry their own details or none. */
    details?: unknown;
    request_id: string;
  };
}

/**
 * An HttpException that carries its own stable `code` (and optional details) into the error body:
 * `throw new ApiError(409, 'duplicate_document', 'Document already exists')`.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super({ statusCode: status, code, message, ...(details === undefined ? {} : { details }) }, status);
    this.name = 'ApiError';
  }
}
