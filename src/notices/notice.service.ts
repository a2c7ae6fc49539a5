import { badInput, notFound } from '../errors.js';
import type { IdentityService } from '../identity/identity.service.js';
import type { User } from '../identity/user.js';
import { uuidv7 } from '../infrastructure/ids.js';
import type { ChatPubSub } from '../topics.js';
import { EVERYONE_KEY, type Notice } from './notice.js';

export const NOTICE_BODY_MAX = 2000;
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * Operators' notices: live only (nothing is stored), to every subscriber or to
 * every socket of one user, on whatever instance each is connected.
 */
export class NoticeService {
  constructor(
    private readonly identity: IdentityService,
    private readonly pubsub: ChatPubSub,
  ) {}

  /** The contract's sendNotice (operators only; the caller checked). NOT_FOUND for a userId that names no user. */
  async send(rawBody: string, userId: string | null | undefined): Promise<Notice> {
    const body = validateBody(rawBody);
    if (userId != null && !(await this.identity.find(userId))) throw notFound(`user "${userId.slice(0, 64)}" does not exist`);
    const notice: Notice = { id: uuidv7(), body, audience: userId == null ? 'EVERYONE' : 'USER', createdAt: new Date().toISOString() };
    // Unlike a message, a notice lives only in flight: a failed publish is the operator's to see and retry.
    await this.pubsub.publish('notice', userId ?? EVERYONE_KEY, notice);
    return notice;
  }

  /** Notices for `user` from now on: those for everyone and those for them. Returns what stops listening. */
  async watch(user: User, listener: (notice: Notice) => void): Promise<() => void> {
    const subscriptions = await Promise.allSettled([this.pubsub.subscribe('notice', EVERYONE_KEY, listener), this.pubsub.subscribe('notice', user.id, listener)]);
    const release = () => {
      for (const subscription of subscriptions) if (subscription.status === 'fulfilled') void subscription.value();
    };
    const failed = subscriptions.find((subscription) => subscription.status === 'rejected');
    if (failed) {
      release();
      throw failed.reason;
    }
    return release;
  }
}

function validateBody(raw: string): string {
  const body = raw.trim();
  if (body.length === 0) throw badInput('body must not be empty');
  if ([...body].length > NOTICE_BODY_MAX) throw badInput(`body must be at most ${NOTICE_BODY_MAX} characters`);
  if (CONTROL_CHARACTERS.test(body)) throw badInput('body must not contain control characters other than newline and tab');
  return body;
}
