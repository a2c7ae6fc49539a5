import { unauthenticated } from '../errors.js';
import type { TokenProblem } from './token.js';
import type { User } from './user.js';

/** Who is calling: a user, or why there is none. Built once per request or socket. */
export type Viewer =
  | { user: User; problem: null; /** epoch ms when the token stops being valid */ expiresAt: number }
  | { user: null; problem: TokenProblem };

/** The viewer's user, or UNAUTHENTICATED saying why there is none. */
export function requireUser(viewer: Viewer): User {
  if (viewer.user) return viewer.user;
  throw unauthenticated(`authentication required: ${viewer.problem}`);
}
