import { locatedError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import type { HeldSubscription } from '../../infrastructure/streams/held-subscription.js';
import { SELF_RENDERED } from '../error-policy.js';

/** Where a WebSocket subscription's events may go directly: its socket, behind its id. */
export interface FanoutSink {
  socket: WebSocket;
  subscriptionId: string;
}

/** What the WebSocket transport puts in an operation's context so a fast path may take it. */
export interface FanoutContext {
  fanoutSink?: FanoutSink;
}

/**
 * Starts one subscription a fast path took: checks the caller, joins what
 * feeds the socket, and resolves with the subscription, which releases all of
 * it when it ends. A throw refuses the subscription, with nothing held.
 */
export type StartOnSocket<P> = (args: ExecutionArgs, plan: P, sink: FanoutSink) => Promise<HeldSubscription>;

/**
 * A fast path as a pipeline plugin (useMessageFanout, useTypingFanout): in the
 * subscribe phase (after parsing, validation and every plugin before it) it
 * takes the WebSocket operations `plan` accepts and starts them with `start`,
 * whose events go to the socket directly, instead of executing them per event.
 * The subscription is a HeldSubscription (transports/websocket holds it as
 * such); a refusal is reported as graphql-js reports a failing subscribe
 * resolver, and the error policy codes or masks it.
 */
export function fastPathPlugin<P>(field: string, plan: (args: ExecutionArgs) => P | null, start: StartOnSocket<P>): Plugin {
  async function subscribe(args: ExecutionArgs, planned: P, sink: FanoutSink): Promise<HeldSubscription | ExecutionResult> {
    let held: HeldSubscription;
    try {
      held = await start(args, planned, sink);
    } catch (error) {
      return { errors: [locatedError(error, undefined, [field])] };
    }
    // graphql-ws keeps the execution args as long as the subscription lives, and the fast
    // paths no longer need them (a shape has its own copy): drop what they hold.
    args.rootValue = args.contextValue = args.variableValues = undefined;
    return held;
  }

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const sink = (args.contextValue as FanoutContext).fanoutSink;
      if (!sink) return;
      const planned = plan(args);
      if (planned !== null) setSubscribeFn(Object.assign((subscribeArgs: ExecutionArgs) => subscribe(subscribeArgs, planned, sink), { [SELF_RENDERED]: true }));
    },
  };
}
