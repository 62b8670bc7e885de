// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node globals our plain JavaScript files use (TypeScript files get theirs from @types/node).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'Buffer',
    'URL',
    'URLSearchParams',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'performance',
    'process',
    'queueMicrotask',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => /** @type {const} */ ([name, 'readonly'])),
);

export default defineConfig(
  {
    ignores: ['**/node_modules/**', '**/data/**', 'scratch/**', '**/test-output/**', '**/dist/**', '**/coverage/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Adapters implement Promise-returning ports (`release`, `countClaims`, unsubscribe functions)
      // with `async` bodies that need no await: `async` is how a synchronous throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Scripts served to browsers.
    files: ['packages/*/src/web/public/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'EventSource', 'setTimeout', 'Event', 'FormData', 'XMLHttpRequest'].map(
          (name) => [name, 'readonly'],
        ),
      ),
    },
  },
  {
    // Plain JavaScript (this file, scripts/*.mjs) is not in any tsconfig: lint it without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
);
