import { v7 as uuidv7 } from 'uuid';

/** herald's event ids are UUIDv7 (RFC 9562): unique, and ordered by creation time. */
export function newEventId(): string {
  return uuidv7();
}
