import { Injectable, NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { MetricsService, UNMATCHED_ROUTE } from './metrics.service';

/** Express sets `req.route` to the last route it dispatched (Nest registers each handler's full path template). */
type RoutedRequest = IncomingMessage & { route?: { path?: unknown; methods?: Record<string, boolean> }; baseUrl?: string };

/** `app.all()` routes: Express 4 marks `_all`, Express 5 sets every method. */
function isAllMethods(methods: Record<string, boolean> | undefined): boolean {
  return !!methods && (methods['_all'] === true || ['get', 'post', 'put', 'delete', 'patch'].every((m) => methods[m] === true));
}

/**
 * The route template that served `req` (`/api/v2/jobs/:id`), or `unmatched` when none did.
 * Nest mounts module middleware (`forRoutes('*')`) as all-methods wildcard routes (`/{*path}`), so when
 * no handler matched, `req.route` is such a middleware route: that counts as unmatched too.
 */
export function routeTemplateOf(req: IncomingMessage): string {
  const r = req as RoutedRequest;
  const path = r.route?.path;
  if (typeof path !== 'string' || path === '') return UNMATCHED_ROUTE;
  if (path.includes('*') && isAllMethods(r.route?.methods)) return UNMATCHED_ROUTE;
  // a route matched inside a mounted router: its mount path is part of the template
  return `${r.baseUrl && !path.startsWith(r.baseUrl) ? r.baseUrl : ''}${path}`;
}

/**
 * Records `http_request_duration_seconds{method,route,status_code}` when the response ends (or the
 * client goes away: status 499). A middleware, not an interceptor, so requests refused by guards,
 * pipes and unknown routes (404) are counted too.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const start = performance.now();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      res.removeListener('finish', record);
      res.removeListener('close', record);
      const status = res.writableFinished ? res.statusCode : 499;
      this.metrics.observeHttp(req.method ?? 'UNKNOWN', routeTemplateOf(req), status, (performance.now() - start) / 1000);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  }
}
