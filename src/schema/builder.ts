import SchemaBuilder from '@pothos/core';
import type { Context } from './context.js';

/** Configures Pothos and defines no types: each domain module adds its own. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
  };
  // Non-null unless a field says otherwise, as in the contract.
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
