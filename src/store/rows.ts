/**
 * Rows of the deliveries and attempts tables as both stores' drivers return
 * them, and their mapping to the Store's types. The one difference: SQLite
 * hands back the `message` column as JSON text, PostgreSQL (a json column)
 * already parsed. Integers are numbers in both (PostgreSQL's int8 too: see
 * postgres/connection.ts).
 */
import type { Attempt, Delivery } from './store.js';

export interface DeliveryRow {
  id: string;
  event_id: string;
  rule: string;
  destination: string;
  template: string;
  /** JSON text (SQLite) or parsed (PostgreSQL); null for a delivery whose template failed to render. */
  message: string | Delivery['message'];
  status: Delivery['status'];
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  last_error: string | null;
  retried_at: number | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  outcome: Attempt['outcome'];
  status: number | null;
  reason: Attempt['reason'];
  error: string | null;
  response_excerpt: string | null;
}

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    rule: row.rule,
    destination: row.destination,
    template: row.template,
    message: typeof row.message === 'string' ? (JSON.parse(row.message) as Delivery['message']) : row.message,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastError: row.last_error,
    retriedAt: row.retried_at,
  };
}

export function toAttempt(row: AttemptRow): Attempt {
  return {
    deliveryId: row.delivery_id,
    attempt: row.attempt,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    outcome: row.outcome,
    status: row.status,
    reason: row.reason,
    error: row.error,
    responseExcerpt: row.response_excerpt,
  };
}

/** A message as the `message` column is written: JSON text, or null. */
export function messageText(message: Delivery['message']): string | null {
  return message === null ? null : JSON.stringify(message);
}
