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

// The application's components, each in packages/video-tutorials/src/components/{name}/.
const COMPONENTS = ['identity', 'send-email', 'transcode', 'transcribe', 'video-publishing'];

/** `no-restricted-imports` with import paths matched by regular expressions, each with the reason. */
const restrictImports = (/** @type {{ regex: string, message: string }[]} */ patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});

// Test helpers (browser sessions, test databases, page checks) live in src/test-support/ and ship in no running
// system. Part of every application rule below: a file's later `no-restricted-imports` replaces, not adds to, its earlier.
const TEST_SUPPORT_STAYS_IN_TESTS = {
  regex: '(^|/)test-support/',
  message: 'Production code never imports test helpers (src/test-support/): only tests and their harnesses do.',
};
// The application's files that are tests or serve only tests (the security and takeover harnesses).
const APPLICATION_TEST_FILES = [
  '**/*.test.ts',
  'packages/video-tutorials/src/test-support/**',
  'packages/video-tutorials/src/security/**',
  'packages/video-tutorials/src/takeover/**',
];

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/data/**',
      'scratch/**',
      '**/test-output/**',
      '**/dist/**',
      '**/coverage/**',
      '**/api-reference/**',
    ],
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
  // Layers (see docs/architecture.md, "Layers").
  {
    // The toolkit is a library of its own: it knows nothing of the application built on it.
    files: ['packages/message-store/**/*.ts'],
    rules: restrictImports([
      {
        regex: '(^|/)video-tutorials(/|$)|^@vt/video-tutorials',
        message: 'The toolkit (message-db-toolkit) never imports the application.',
      },
    ]),
  },
  {
    // What runs in production never reaches for a test helper.
    files: ['packages/video-tutorials/src/**/*.ts'],
    ignores: APPLICATION_TEST_FILES,
    rules: restrictImports([TEST_SUPPORT_STAYS_IN_TESTS]),
  },
  // A component is autonomous: it talks to others only through messages (src/contracts/), never by importing
  // them. Its tests may run another component beside it, as the system does (the book's registration e-mail).
  ...COMPONENTS.map((component) => ({
    files: [`packages/video-tutorials/src/components/${component}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: restrictImports([
      {
        regex: `^\\.\\./(?!${component}/)[^.]|(^|/)components/`,
        message: 'Components never import each other: they talk through messages (src/contracts/).',
      },
      {
        // An e-mail's markup uses the neutral html.ts; the web server and its pages are the applications'.
        regex: '(^|/)web/',
        message: 'Components never import the web server (src/web/): their markup uses src/html.ts.',
      },
      TEST_SUPPORT_STAYS_IN_TESTS,
    ]),
  })),
  {
    // The composition root wires pieces and applications; the command line is built on it, not the other way.
    files: ['packages/video-tutorials/src/system.ts'],
    rules: restrictImports([
      { regex: '(^|/)cli/', message: 'system.ts does not import the command line (cli/).' },
      TEST_SUPPORT_STAYS_IN_TESTS,
    ]),
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
