import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { INDEX_HTML } from './web.page';
import { APP_JS } from './web.script';
import { APP_CSS } from './web.styles';

/**
 * The small web page (sign in with a token, upload, live job progress, dead letters, search, delete).
 * Public: the page holds no data; every API call it makes carries the user's Bearer token.
 * Served from string constants so the webpack bundle carries them (dist/apps/api has only main.js).
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  @Get(['', 'app'])
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return INDEX_HTML;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return APP_JS;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  styles(): string {
    return APP_CSS;
  }
}
