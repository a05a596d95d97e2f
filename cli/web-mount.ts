import type { Express } from 'express';
import type { App } from './app.js';

/** `overusage serve` mounts the module's web side: the JSON API, the embed pages and their assets (/overusage/…). */
export function webMounts(app: App): Array<(server: Express) => void> {
  return [(server) => server.use(app.module.web.router())];
}
