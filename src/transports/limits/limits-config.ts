/**
 * The query limits and what the schema discloses, as read from the environment
 * (src/config.ts calls readQueryLimits; nothing here reads process.env).
 */
export interface QueryLimitsConfig {
  /** Deepest field nesting of an operation, fragments flattened (GRAPHQL_MAX_DEPTH). @default 10 */
  maxDepth: number;
  /** Aliases in one operation, `__typename` excepted (GRAPHQL_MAX_ALIASES). @default 15 */
  maxAliases: number;
  /** Lexical tokens in one document: bounds the parser's work and recursion (GRAPHQL_MAX_TOKENS). @default 1000 */
  maxTokens: number;
  /** Directives in one operation (GRAPHQL_MAX_DIRECTIVES). @default 20 */
  maxDirectives: number;
  /** Fields an operation may resolve, page sizes multiplied (GRAPHQL_MAX_COST; see cost.ts). @default 5000 */
  maxCost: number;
  /** Root fields of one mutation: writes per operation (GRAPHQL_MAX_MUTATION_FIELDS). @default 5 */
  maxMutationFields: number;
  /** Largest HTTP request body; a larger one is 413 (HTTP_MAX_BODY_BYTES). @default 1000000 */
  maxBodyBytes: number;
  /**
   * Introspection, GraphiQL and "Did you mean" suggestions (GRAPHQL_INTROSPECTION=on|off).
   * @default off when NODE_ENV=production (as `npm start` runs), on otherwise
   */
  introspection: boolean;
}

export const DEFAULT_QUERY_LIMITS: QueryLimitsConfig = {
  maxDepth: 10,
  maxAliases: 15,
  maxTokens: 1000,
  maxDirectives: 20,
  maxCost: 5000,
  maxMutationFields: 5,
  maxBodyBytes: 1_000_000,
  introspection: true,
};

/** What loadConfig lends: its readers of one variable, and its list of problems. */
export interface EnvReaders {
  text(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  problems: string[];
}

export function readQueryLimits({ text, integer, problems }: EnvReaders): QueryLimitsConfig {
  const production = text('NODE_ENV') === 'production';
  const switchValue = text('GRAPHQL_INTROSPECTION')?.toLowerCase();
  let introspection = !production;
  if (switchValue === 'on') introspection = true;
  else if (switchValue === 'off') introspection = false;
  else if (switchValue !== undefined) problems.push(`GRAPHQL_INTROSPECTION must be on or off, got "${switchValue}"`);
  const d = DEFAULT_QUERY_LIMITS;
  return {
    maxDepth: integer('GRAPHQL_MAX_DEPTH', d.maxDepth, 1, 1000),
    maxAliases: integer('GRAPHQL_MAX_ALIASES', d.maxAliases, 0, 10_000),
    maxTokens: integer('GRAPHQL_MAX_TOKENS', d.maxTokens, 100, 1_000_000),
    maxDirectives: integer('GRAPHQL_MAX_DIRECTIVES', d.maxDirectives, 0, 10_000),
    maxCost: integer('GRAPHQL_MAX_COST', d.maxCost, 1, 100_000_000),
    maxMutationFields: integer('GRAPHQL_MAX_MUTATION_FIELDS', d.maxMutationFields, 1, 1000),
    maxBodyBytes: integer('HTTP_MAX_BODY_BYTES', d.maxBodyBytes, 1024, 100_000_000),
    introspection,
  };
}

/** The environment that reads back as `limits` (test servers in their own process): only what differs from the defaults. */
export function queryLimitsEnv(limits: QueryLimitsConfig): Record<string, string> {
  const names: Record<Exclude<keyof QueryLimitsConfig, 'introspection'>, string> = {
    maxDepth: 'GRAPHQL_MAX_DEPTH',
    maxAliases: 'GRAPHQL_MAX_ALIASES',
    maxTokens: 'GRAPHQL_MAX_TOKENS',
    maxDirectives: 'GRAPHQL_MAX_DIRECTIVES',
    maxCost: 'GRAPHQL_MAX_COST',
    maxMutationFields: 'GRAPHQL_MAX_MUTATION_FIELDS',
    maxBodyBytes: 'HTTP_MAX_BODY_BYTES',
  };
  const env: Record<string, string> = {};
  for (const [key, name] of Object.entries(names) as [keyof typeof names, string][]) {
    if (limits[key] !== DEFAULT_QUERY_LIMITS[key]) env[name] = String(limits[key]);
  }
  if (limits.introspection !== DEFAULT_QUERY_LIMITS.introspection) env.GRAPHQL_INTROSPECTION = limits.introspection ? 'on' : 'off';
  return env;
}
