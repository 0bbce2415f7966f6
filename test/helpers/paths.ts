// Locates the project root from compiled tests (dist/test/...) so fixtures and examples resolve.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const EXAMPLE_FLEET = resolve(ROOT, 'examples/fleet');
export const SEEDS = resolve(ROOT, '../shared/seeds');
export const CLI = resolve(ROOT, 'dist/src/main.js');
export const SRC = resolve(ROOT, 'src');
