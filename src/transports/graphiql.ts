import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL from the package's own bundle (@graphql-yoga/render-graphiql
 * inlines its scripts, styles and editor workers), so it works with no
 * internet, unlike Yoga's default page that loads them from a CDN. The page
 * weighs ~9 MB, so it is rendered once per set of options, not per request.
 */
export function createOfflineGraphiQL(): (options: GraphiQLOptions) => string {
  const pages = new Map<string, string>();
  return (options) => {
    const key = JSON.stringify(options);
    let page = pages.get(key);
    if (page === undefined) {
      page = renderGraphiQL(options);
      pages.set(key, page);
    }
    return page;
  };
}
