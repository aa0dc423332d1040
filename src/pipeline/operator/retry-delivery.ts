/**
 * Retrying one delivery by hand, and why it can be refused. Shared by the
 * admin API (POST /api/deliveries/{id}/retry) and `herald dlq retry <id>` on
 * the store, so both refuse alike and say the same.
 */
import type { Delivery, Store } from '../../store/store.js';

export type DeliveryRetry =
  | { status: 'retried'; delivery: Delivery }
  | { status: 'unknown' }
  /** It exists but cannot be sent again; `reason` says why and what to do instead. */
  | { status: 'refused'; reason: string };

/** Makes a dead (or waiting) delivery pending and due at `now`, keeping its attempts. */
export async function retryOneDelivery(store: Store, id: string, now: number): Promise<DeliveryRetry> {
  const retried = await store.retryDelivery(id, now);
  const delivery = await store.getDelivery(id);
  if (!delivery) return { status: 'unknown' };
  if (retried) return { status: 'retried', delivery };
  return {
    status: 'refused',
    reason: delivery.status === 'delivered' ? 'the delivery was delivered already' : 'the delivery has no message (its template failed): replay its event',
  };
}
