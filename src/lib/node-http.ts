import type * as NodeHttp from 'node:http';
import { createRequire } from 'node:module';

/**
 * node:http, loaded as CommonJS. An ES import of node:http builds its module namespace, which reads
 * the module's lazy `WebSocket`, `MessageEvent` and `CloseEvent` exports and so loads undici (Node's
 * fetch and WebSocket, with its llhttp WebAssembly): ≈13 MB of RSS in a server that never calls
 * them. Modules that need a value from node:http take it from here; type imports cost nothing.
 */
export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
