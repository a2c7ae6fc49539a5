import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * The typed client SDK: typed document nodes for the operations in
 * sdk/operations.graphql, usable as they are with Apollo Client, urql and graphql-ws.
 * The schema is the committed, code-emitted schema.graphql.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['sdk/operations.graphql'],
  // ESM output with explicit .js extensions, as this package (and NodeNext resolution) requires.
  emitLegacyCommonJSImports: false,
  generates: {
    'sdk/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars: { DateTime: 'string' }, useTypeImports: true, enumsAsTypes: true },
    },
  },
};

export default config;
