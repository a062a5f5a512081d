// lib: small dependency-free helpers shared by every module (ids, errors, events, logging, time).
// May import Node built-ins and pino only; nothing else under src/.
export { type Clock, systemClock } from './clock.ts';
export { Disposer } from './disposer.ts';
export { isSfuError, SfuError, type SfuErrorCode } from './errors.ts';
export { type EventMap, TypedEmitter } from './events.ts';
export * from './ids.ts';
export { createLogger, type Logger, type LoggerOptions, silentLogger } from './logger.ts';
