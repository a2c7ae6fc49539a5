/**
 * The orchestrator drives its children (servers and load generators) with
 * request/reply messages over Node's IPC channel: `{ id, cmd, args }` in,
 * `{ id, ok, result | error }` back.
 */
export interface IpcRequest {
  id: number;
  cmd: string;
  args?: unknown;
}

export interface IpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A child's first message: it listens from now on. */
export interface IpcReady {
  ready: true;
}

// Arguments are not validated: the orchestrator is the only caller.
export type Handlers = Record<string, (args: any) => unknown>;

/** Child side: answers the orchestrator's commands; exits when the orchestrator goes away. */
export function serve(handlers: Handlers): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this file is a child of bench/run.ts: start it with an IPC channel (npm run bench)');
  process.on('message', (message: IpcRequest) => {
    void (async () => {
      const handler = handlers[message.cmd];
      try {
        if (!handler) throw new Error(`unknown command "${message.cmd}"`);
        send({ id: message.id, ok: true, result: await handler(message.args) } satisfies IpcReply);
      } catch (error) {
        send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies IpcReply);
      }
    })();
  });
  // The orchestrator died or let go: nothing it started may outlive it.
  process.on('disconnect', () => process.exit(1));
  // Commands sent before this listener existed would be lost: the orchestrator waits for this.
  send({ ready: true } satisfies IpcReady);
}
