import type { ApiDeps } from '../deps.ts';
import { type RouteDef, route } from '../route.ts';

/** Waterbus' health-check text, with the implementation language swapped (clients match the prefix). */
export const HEALTH_TEXT = '[v3] Waterbus Service written in TypeScript';

export function healthRoutes(_deps: ApiDeps): RouteDef[] {
  return [
    route({
      method: 'GET',
      path: '/health-check',
      auth: 'apiKey',
      tag: 'health',
      summary: 'Health check (plain text; needs the API key, as in Waterbus)',
      text: true,
      async handler() {
        return HEALTH_TEXT;
      },
    }),
  ];
}
