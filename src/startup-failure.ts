/**
 * A start-up failure the operator can fix, with the one sentence that says
 * how (main.ts prints it as the one fatal log line, without a stack).
 */
export class StartupFailure extends Error {
  constructor(
    message: string,
    /** Extra fields for the log line (never a secret: no URL with its password). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'StartupFailure';
  }
}
