/**
 * Requests between the signalling instances of a cluster for what lives on one of them only (a
 * WHIP or WHEP resource: its session, its media and its room events are followed where its POST
 * arrived). An instance that does not hold what a request names asks the others; the one that
 * holds it answers, and the others decline. So a load balancer needs no affinity for them.
 */
export interface ClusterPeers {
  /**
   * Asks the other instances. Resolves with the answer of the instance that took the request, or
   * undefined when none did; throws SfuError `unavailable` when none did and some instance did not
   * answer in time (it may hold it).
   */
  ask(event: string, request: unknown): Promise<unknown>;
  /**
   * Answers `event` for the other instances: the handler's answer, or undefined when this instance
   * does not hold what the request names (a request is untrusted input: the handler validates it).
   */
  answer(event: string, handler: (request: unknown) => Promise<unknown>): void;
}
