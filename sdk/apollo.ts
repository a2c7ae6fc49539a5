import { ApolloLink } from '@apollo/client';
import { Observable } from 'rxjs';
import type { ChatClient } from './client.js';

/**
 * Apollo Client over a ChatClient: queries and mutations go over HTTP with
 * its token, subscriptions over its connection, so they reconnect, renew and
 * resume (messageAdded after the last message delivered) by themselves.
 *
 *   new ApolloClient({ link: new ChatLink(chat), cache: new InMemoryCache() })
 */
export class ChatLink extends ApolloLink {
  constructor(chat: ChatClient) {
    super(
      (operation) =>
        new Observable<ApolloLink.Result>((observer) =>
          chat.stream(
            operation.query,
            operation.variables,
            {
              next: (result) => observer.next(result as ApolloLink.Result),
              error: (error) => observer.error(error),
              complete: () => observer.complete(),
            },
            operation.operationName,
          ),
        ),
    );
  }
}
