/** Keyset paging by id, the listings' one order (ids are UUIDv7, time-ordered). */
import type { ListOrder } from '../../store.js';

/** The cursor condition on parameter `cursor` and the ORDER BY: ids after it, ascending, or before it, descending. */
export function keyset(order: ListOrder | undefined, cursor: string): string {
  return order === 'desc' ? `(${cursor}::text IS NULL OR id < ${cursor}) ORDER BY id DESC` : `(${cursor}::text IS NULL OR id > ${cursor}) ORDER BY id`;
}
