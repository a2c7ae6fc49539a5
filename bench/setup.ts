/** Setup calls the orchestrator makes through the public API before a load starts. */

/** One GraphQL operation over HTTP; throws on any error in the answer. */
export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!result.data || result.errors?.length) throw new Error(`${query.slice(0, 60)}… failed: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** `count` anonymous users, one token each. */
export async function issueTokens(url: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = await gql<{ issueToken: { token: string } }>(url, 'mutation { issueToken { token } }');
    tokens.push(data.issueToken.token);
  }
  return tokens;
}
