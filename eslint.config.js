// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bench/results/', 'bench/.build/', 'test-artifacts/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A listener added to a signal that has already aborted never runs: every stoppable wait goes through onAbort.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/core/abort.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='addEventListener'][arguments.0.value='abort']",
          message: "use onAbort (src/core/abort.ts): addEventListener('abort') misses a signal that has already aborted.",
        },
      ],
    },
  },
  {
    // Machines are pure definitions: no I/O, no clock, no drivers (Temporal's workflow rule).
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'machines/ are pure: no Node built-ins.' },
            {
              group: ['better-sqlite3', '@kubernetes/*', 'pino', 'pino-*', '../src/*', '../src/**'],
              message: 'machines/ are pure: no I/O libraries.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'process', 'performance'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'machines/ are deterministic.' }],
    },
  },
  {
    // Layers: the store sits below the runtime and the simulator is a cluster, not part of the hub;
    // what they share with the runtime (the clock, step records) lives below both, in src/core.
    files: ['src/store/**/*.ts', 'src/sim/**/*.ts', 'src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runtime/*', '**/hub/*', '**/kube/*'],
              message:
                'src/store, src/sim and src/core sit below the runtime, the kube side and the hub: move what is shared into src/core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The dashboard's page script runs in the browser.
    files: ['src/hub/dashboard/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'fetch',
          'sessionStorage',
          'setInterval',
          'setTimeout',
          'TextDecoder',
          'AbortController',
          'Date',
          'JSON',
          'Map',
          'Set',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);
