import { HttpException } from '@nestjs/common';

/** An error answered the LlamaParse / FastAPI way: `{"detail": "..."}`, with optional extra headers. */
export class DetailException extends HttpException {
  constructor(
    status: number,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ detail }, status);
    this.message = detail;
  }
}
