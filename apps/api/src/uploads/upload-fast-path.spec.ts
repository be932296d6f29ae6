import { RequestMethod } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  HEADERS_METADATA,
  SCOPE_OPTIONS_METADATA,
  VERSION_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { IS_PUBLIC_KEY } from '@app/auth';
import { UploadThrottleFilter } from '../security/upload-throttle.filter';
import { UploadThrottleGuard } from '../security/upload-throttle.guard';
import { CreateUploadDto } from './upload.dto';
import { UPLOAD_FAST_PATH_URL } from './upload-fast-path';
import { UploadsController } from './uploads.controller';

// UploadFastPath runs by hand what Nest would run for UploadsController.create. This holds the route's declaration to
// what it runs: a change here (another guard, a pipe, an interceptor, another status or parameter) must be made in
// upload-fast-path.ts too, then here.
describe('UploadFastPath serves what UploadsController.create declares', () => {
  const handler = UploadsController.prototype.create;
  const meta = (key: string, target: object = handler): unknown => Reflect.getMetadata(key, target);

  it('the route: POST /api/v2/upload, 201', () => {
    expect(`/${meta(PATH_METADATA, UploadsController)}`).toBe(UPLOAD_FAST_PATH_URL);
    expect(meta(PATH_METADATA)).toBe('/');
    expect(meta(METHOD_METADATA)).toBe(RequestMethod.POST);
    expect(meta(HTTP_CODE_METADATA)).toBe(201);
    for (const key of [HEADERS_METADATA, VERSION_METADATA, IS_PUBLIC_KEY]) {
      expect(meta(key)).toBeUndefined();
      expect(meta(key, UploadsController)).toBeUndefined();
    }
    // a singleton: the fast path holds the app's one instance
    expect(meta(SCOPE_OPTIONS_METADATA, UploadsController)).toBeUndefined();
  });

  it('its enhancers: UploadThrottleGuard and UploadThrottleFilter, no pipe or interceptor of its own or of the controller', () => {
    expect(meta(GUARDS_METADATA)).toEqual([UploadThrottleGuard]);
    expect(meta(EXCEPTION_FILTERS_METADATA)).toEqual([UploadThrottleFilter]);
    expect(meta(PIPES_METADATA)).toBeUndefined();
    expect(meta(INTERCEPTORS_METADATA)).toBeUndefined();
    for (const key of [GUARDS_METADATA, EXCEPTION_FILTERS_METADATA, PIPES_METADATA, INTERCEPTORS_METADATA])
      expect(meta(key, UploadsController)).toBeUndefined();
  });

  it('its parameters: the body, the user, the request id, the request and the response (passthrough), in that order', () => {
    type Arg = { index: number; pipes?: unknown[] };
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, UploadsController, 'create') as Record<string, Arg>;
    for (const arg of Object.values(args)) expect(arg.pipes ?? []).toEqual([]); // no pipe of a parameter's own
    const types = Reflect.getMetadata(
      'design:paramtypes',
      UploadsController.prototype,
      'create',
    ) as unknown[];
    expect(types[0]).toBe(CreateUploadDto); // the global ValidationPipe's type, which validBody stands for
    const byIndex = Object.entries(args)
      .sort(([, a], [, b]) => a.index - b.index)
      .map(([key]) => key.replace(/:\d+$/, '').replace(/^.*__customRouteArgs__$/, 'custom'));
    // Nest's RouteParamtypes: 3 BODY, 0 REQUEST, 1 RESPONSE; the two custom decorators are CurrentUser and RequestId
    expect(byIndex).toEqual(['3', 'custom', 'custom', '0', '1']);
    expect(handler.length).toBe(5);
  });
});
