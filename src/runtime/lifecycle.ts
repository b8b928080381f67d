// One lifecycle for the operator's parts (informers, controllers, the leader
// elector, refresh-event sources, the webhook, credential watches, restarts):
// started when the operator starts, told when this replica gains or loses the
// lead, and stopped in the order the operator gives.
export interface Lifecycle {
  start?(): unknown;
  /** This replica now leads (true) or follows (false). */
  setLeading?(leading: boolean): void;
  stop?(): Promise<void> | void;
}

/** Stops the parts one after another, each after the one before has stopped. */
export async function stopInOrder(parts: Iterable<Lifecycle | undefined>): Promise<void> {
  for (const part of parts) await part?.stop?.();
}

/** Stops the parts together. */
export async function stopTogether(parts: Iterable<Lifecycle | undefined>): Promise<void> {
  await Promise.all([...parts].map(async (part) => part?.stop?.()));
}
