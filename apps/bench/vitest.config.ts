import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mts';

// shared-memory-objects ships TypeScript source: let vitest transform it instead of handing it to Node.
export default mergeConfig(
  shared,
  defineConfig({ test: { server: { deps: { inline: ['@daneren2005/shared-memory-objects'] } } } }),
);
