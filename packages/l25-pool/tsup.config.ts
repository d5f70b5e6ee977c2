import { defineConfig } from 'tsup';
import { libraryBuild } from '../../scripts/tsup-base';

export default defineConfig(libraryBuild());
