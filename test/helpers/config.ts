import { ConfigError, loadConfig } from '../../src/config.js';

/** Every problem loadConfig reports for this environment (all at once, as it reports them); [] when it loads. */
export function configProblemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
