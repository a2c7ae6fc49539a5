export type NoticeAudience = 'EVERYONE' | 'USER';

/** A notice from the operators. Plain JSON: it crosses Redis as is. */
export interface Notice {
  id: string;
  body: string;
  audience: NoticeAudience;
  /** ISO-8601, UTC. */
  createdAt: string;
}

/** The pub/sub key of notices for everyone; a notice for one user goes out under their user id. */
export const EVERYONE_KEY = 'everyone';
