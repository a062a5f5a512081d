import type { z } from 'zod';
import type { Session } from '../session.ts';
import type { SignallingContext } from '../signalling-context.ts';

/**
 * One client → server event: its payload schema (checked before `run`) and what it does. `run`
 * returns the value for the client's ack, if the client asked for one (Waterbus clients do not;
 * they get their replies as separate events).
 */
export interface EventHandler<T = unknown> {
  event: string;
  schema: z.ZodType<T>;
  run(ctx: SignallingContext, session: Session, payload: T): Promise<unknown>;
}

export function handler<T>(h: EventHandler<T>): EventHandler {
  return h as unknown as EventHandler;
}
