import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every response. The demo page (`/`), Swagger UI (`/docs`) and the
 * SDK bundle load scripts and styles from files of this origin only (no inline code), connect to
 * this origin (REST, socket.io over ws/wss) and show data: images (Swagger UI's icons).
 * upgrade-insecure-requests is left out: the server is often reached over plain HTTP (a LAN, a
 * proxy in front), where it would turn every subresource into a failing https request.
 */
const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
};

/**
 * Swagger UI's page (`/docs`) adds one inline <style> (the logo SVG of swagger-ui-dist's
 * standalone preset, `.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`):
 * allowed by its hash rather than with 'unsafe-inline'. A swagger-ui-dist upgrade that changes
 * it shows as a CSP violation in test/sdk/csp-pages.test.ts.
 */
const SWAGGER_LOGO_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

/** Route option of the Swagger UI page: the global headers, with its logo's style allowed. */
export const DOCS_PAGE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { ...CSP_DIRECTIVES, 'style-src': ["'self'", SWAGGER_LOGO_STYLE_HASH] },
  },
};

/**
 * Security headers on every Fastify response (pages, JSON, errors) from @fastify/helmet: the CSP
 * above, X-Content-Type-Options: nosniff, X-Frame-Options: SAMEORIGIN, Referrer-Policy:
 * no-referrer, Cross-Origin-Opener/Resource-Policy: same-origin. HSTS is left to the proxy that
 * terminates TLS (this server speaks plain HTTP, and includeSubDomains would reach other hosts).
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    strictTransportSecurity: false,
  });
}
