/** One GraphQL response as a client sees it. */
export interface GraphQLResponse<T = any> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** POSTs an operation like any HTTP GraphQL client would, with an optional bearer token. */
export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** The data of a response that must have succeeded; fails the test with the errors otherwise. */
export async function gqlOk<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T> {
  const result = await gql<T>(url, query, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** The code of the first error, for tests of bad input. */
export function errorCode(result: GraphQLResponse): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}
