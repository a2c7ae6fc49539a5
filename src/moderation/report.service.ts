import { badInput, notFound } from '../errors.js';
import type { User } from '../identity/user.js';
import { uuidv7 } from '../infrastructure/ids.js';
import { errorMessage, type Logger } from '../logger.js';
import type { MessageService } from '../messages/message.service.js';
import type { RoomService } from '../rooms/room.service.js';
import type { ChatPubSub } from '../topics.js';
import type { Report } from './report.js';
import type { ReportRepository } from './report.repository.js';

export const REASON_MAX = 500;
const ALL = 'all';
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Users' reports of messages, and the operators' live feed of them. */
export class ReportService {
  constructor(
    private readonly reports: ReportRepository,
    private readonly messages: MessageService,
    private readonly rooms: RoomService,
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
  ) {}

  /**
   * The contract's reportMessage. The reporter must have access to the
   * message's room (the rooms domain's one rule); reporting a message again
   * changes nothing, whatever the reason.
   */
  async report(reporter: User, messageId: string, rawReason: string | null | undefined): Promise<void> {
    const reason = validateReason(rawReason);
    const message = await this.messages.find(messageId);
    if (!message) throw notFound(`message "${messageId.slice(0, 64)}" does not exist`);
    await this.rooms.requireAccess(reporter, message.roomId);
    const row = await this.reports.insertIfNew({ id: uuidv7(), message_id: message.id, reporter_id: reporter.id, reason, created_at: new Date().toISOString() });
    if (!row) return;
    const report: Report = { id: row.id, message, reporter, reason: row.reason, createdAt: row.created_at };
    // Stored first: an operator who missed the event (not subscribed, Redis away) finds it in the table.
    this.pubsub.publish('moderation.report', ALL, report).catch((error) => {
      this.logger.warn({ reportId: row.id, error: errorMessage(error) }, 'announcing a report failed; it is stored');
    });
  }

  /** Reports as they are made, on any instance; returns what stops listening. */
  watch(listener: (report: Report) => void): Promise<() => Promise<void>> {
    return this.pubsub.subscribe('moderation.report', ALL, listener);
  }
}

/** Trimmed; empty is no reason. */
function validateReason(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  const reason = raw.trim();
  if (reason === '') return null;
  if ([...reason].length > REASON_MAX) throw badInput(`reason must be at most ${REASON_MAX} characters`);
  if (CONTROL_CHARACTERS.test(reason)) throw badInput('reason must not contain control characters other than newline and tab');
  return reason;
}
