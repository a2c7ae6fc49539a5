import { subscriptionExchange, type Exchange, type ExecutionResult } from '@urql/core';
import type { ChatClient } from './client.js';

/**
 * urql over a ChatClient: every operation goes through it, so queries and
 * mutations carry its token and subscriptions reconnect, renew and resume
 * (messageAdded after the last message delivered) by themselves.
 *
 *   new Client({ url, exchanges: [cacheExchange, chatExchange(chat)] })
 */
export function chatExchange(chat: ChatClient): Exchange {
  return subscriptionExchange({
    enableAllOperations: true,
    forwardSubscription: (_request, operation) => ({
      subscribe(observer) {
        const unsubscribe = chat.stream(operation.query, operation.variables as Record<string, unknown>, {
          next: (result) => observer.next(result as ExecutionResult),
          error: (error) => observer.error(error),
          complete: () => observer.complete(),
        });
        return { unsubscribe };
      },
    }),
  });
}
