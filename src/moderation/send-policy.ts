import { badInput } from '../errors.js';
import type { User } from '../identity/user.js';
import type { SendPolicy } from '../messages/send-policy.js';
import type { Blocklist } from './blocklist.js';
import type { SlowModeService } from './slow-mode.service.js';

/**
 * Moderation's checks of a message before it is stored: the blocklist first
 * (it takes nothing), then the sender's slow-mode turn.
 */
export class ModerationSendPolicy implements SendPolicy {
  constructor(
    private readonly blocklist: Blocklist,
    private readonly slowMode: SlowModeService,
  ) {}

  async admit(sender: User, roomId: string, body: string): Promise<() => void> {
    if (this.blocklist.blocks(body)) throw badInput('message blocked');
    return this.slowMode.claimTurn(sender, roomId);
  }
}
