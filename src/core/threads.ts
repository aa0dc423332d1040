/**
 * The store's record of message threads (README, "Threads"): per destination
 * and thread key, which delivery starts the thread and, once it is sent, how
 * the rest refer to it (Slack: the first message's `ts` and channel ID; email:
 * the first message's Message-ID). The channels see the store through this
 * interface only.
 *
 * Who starts a thread is decided by one claim per (destination, key): the
 * first delivery to ask owns it. Another delivery takes it over only while no
 * first message is recorded and the owner can no longer send one (its
 * delivery is dead or gone): so of several processes sending the first
 * messages of one subject at once, one starts the thread and the others wait
 * for it.
 */

export interface ThreadClaimRequest {
  destination: string;
  /** MessageThread.key, or a channel's refinement of it. */
  key: string;
  /** The delivery asking: it becomes the owner when the thread has none that can still send. */
  deliveryId: string;
  now: number;
}

/** A thread as recorded. */
export interface ThreadRecord {
  /** The delivery that starts (or started) the thread. */
  owner: string;
  /** Slack: the first message's `ts`; email: its Message-ID; null until the owner recorded it. */
  parent: string | null;
  /** Slack: the channel ID the first message went to; null for email. */
  parentChannel: string | null;
}

export interface ThreadParent {
  destination: string;
  key: string;
  /** Only the owner records the parent. */
  owner: string;
  parent: string;
  parentChannel: string | null;
  now: number;
}

/** What channels that thread need of the store. */
export interface ThreadStore {
  /** The thread of (destination, key), claimed for `deliveryId` when it has no owner that can still start it. */
  claimThread(request: ThreadClaimRequest): Promise<ThreadRecord>;
  /** Records the first message; false when `owner` no longer owns the thread or a parent is recorded already. */
  setThreadParent(parent: ThreadParent): Promise<boolean>;
}
