/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation IssueToken($nickname: String, $previousToken: String) {\n  issueToken(nickname: $nickname, previousToken: $previousToken) {\n    token\n    expiresAt\n    user {\n      id\n      nickname\n      tag\n      handle\n    }\n  }\n}\n\nquery Rooms($first: Int, $after: String) {\n  rooms(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        title\n        createdAt\n        participantCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery History($roomId: ID!, $last: Int, $before: String) {\n  messages(roomId: $roomId, last: $last, before: $before) {\n    edges {\n      cursor\n      node {\n        ...ChatMessage\n      }\n    }\n    pageInfo {\n      hasPreviousPage\n      startCursor\n    }\n  }\n}\n\nmutation CreateRoom($title: String!) {\n  createRoom(input: {title: $title}) {\n    id\n    title\n    createdAt\n  }\n}\n\nmutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String) {\n  sendMessage(\n    input: {roomId: $roomId, body: $body, clientMessageId: $clientMessageId}\n  ) {\n    ...ChatMessage\n  }\n}\n\nsubscription MessageAdded($roomId: ID!, $after: ID) {\n  messageAdded(roomId: $roomId, after: $after) {\n    ...ChatMessage\n  }\n}\n\nsubscription ParticipantCount($roomId: ID!) {\n  participantCount(roomId: $roomId) {\n    roomId\n    count\n  }\n}\n\nfragment ChatMessage on Message {\n  id\n  seq\n  roomId\n  body\n  createdAt\n  clientMessageId\n  sender {\n    id\n    handle\n  }\n}": typeof types.IssueTokenDocument,
};
const documents: Documents = {
    "mutation IssueToken($nickname: String, $previousToken: String) {\n  issueToken(nickname: $nickname, previousToken: $previousToken) {\n    token\n    expiresAt\n    user {\n      id\n      nickname\n      tag\n      handle\n    }\n  }\n}\n\nquery Rooms($first: Int, $after: String) {\n  rooms(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        title\n        createdAt\n        participantCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery History($roomId: ID!, $last: Int, $before: String) {\n  messages(roomId: $roomId, last: $last, before: $before) {\n    edges {\n      cursor\n      node {\n        ...ChatMessage\n      }\n    }\n    pageInfo {\n      hasPreviousPage\n      startCursor\n    }\n  }\n}\n\nmutation CreateRoom($title: String!) {\n  createRoom(input: {title: $title}) {\n    id\n    title\n    createdAt\n  }\n}\n\nmutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String) {\n  sendMessage(\n    input: {roomId: $roomId, body: $body, clientMessageId: $clientMessageId}\n  ) {\n    ...ChatMessage\n  }\n}\n\nsubscription MessageAdded($roomId: ID!, $after: ID) {\n  messageAdded(roomId: $roomId, after: $after) {\n    ...ChatMessage\n  }\n}\n\nsubscription ParticipantCount($roomId: ID!) {\n  participantCount(roomId: $roomId) {\n    roomId\n    count\n  }\n}\n\nfragment ChatMessage on Message {\n  id\n  seq\n  roomId\n  body\n  createdAt\n  clientMessageId\n  sender {\n    id\n    handle\n  }\n}": types.IssueTokenDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation IssueToken($nickname: String, $previousToken: String) {\n  issueToken(nickname: $nickname, previousToken: $previousToken) {\n    token\n    expiresAt\n    user {\n      id\n      nickname\n      tag\n      handle\n    }\n  }\n}\n\nquery Rooms($first: Int, $after: String) {\n  rooms(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        title\n        createdAt\n        participantCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery History($roomId: ID!, $last: Int, $before: String) {\n  messages(roomId: $roomId, last: $last, before: $before) {\n    edges {\n      cursor\n      node {\n        ...ChatMessage\n      }\n    }\n    pageInfo {\n      hasPreviousPage\n      startCursor\n    }\n  }\n}\n\nmutation CreateRoom($title: String!) {\n  createRoom(input: {title: $title}) {\n    id\n    title\n    createdAt\n  }\n}\n\nmutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String) {\n  sendMessage(\n    input: {roomId: $roomId, body: $body, clientMessageId: $clientMessageId}\n  ) {\n    ...ChatMessage\n  }\n}\n\nsubscription MessageAdded($roomId: ID!, $after: ID) {\n  messageAdded(roomId: $roomId, after: $after) {\n    ...ChatMessage\n  }\n}\n\nsubscription ParticipantCount($roomId: ID!) {\n  participantCount(roomId: $roomId) {\n    roomId\n    count\n  }\n}\n\nfragment ChatMessage on Message {\n  id\n  seq\n  roomId\n  body\n  createdAt\n  clientMessageId\n  sender {\n    id\n    handle\n  }\n}"): (typeof documents)["mutation IssueToken($nickname: String, $previousToken: String) {\n  issueToken(nickname: $nickname, previousToken: $previousToken) {\n    token\n    expiresAt\n    user {\n      id\n      nickname\n      tag\n      handle\n    }\n  }\n}\n\nquery Rooms($first: Int, $after: String) {\n  rooms(first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        id\n        title\n        createdAt\n        participantCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery History($roomId: ID!, $last: Int, $before: String) {\n  messages(roomId: $roomId, last: $last, before: $before) {\n    edges {\n      cursor\n      node {\n        ...ChatMessage\n      }\n    }\n    pageInfo {\n      hasPreviousPage\n      startCursor\n    }\n  }\n}\n\nmutation CreateRoom($title: String!) {\n  createRoom(input: {title: $title}) {\n    id\n    title\n    createdAt\n  }\n}\n\nmutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: String) {\n  sendMessage(\n    input: {roomId: $roomId, body: $body, clientMessageId: $clientMessageId}\n  ) {\n    ...ChatMessage\n  }\n}\n\nsubscription MessageAdded($roomId: ID!, $after: ID) {\n  messageAdded(roomId: $roomId, after: $after) {\n    ...ChatMessage\n  }\n}\n\nsubscription ParticipantCount($roomId: ID!) {\n  participantCount(roomId: $roomId) {\n    roomId\n    count\n  }\n}\n\nfragment ChatMessage on Message {\n  id\n  seq\n  roomId\n  body\n  createdAt\n  clientMessageId\n  sender {\n    id\n    handle\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;