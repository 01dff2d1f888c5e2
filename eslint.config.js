// typescript-eslint flat config shared by every Node workspace (run in CI by `make lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // What .gitignore leaves out (build output, tools, benchmark and test scratch folders), and the dashboard (ng lint).
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '.tools/**',
      '**/.data/**',
      '**/.bench/**',
      '**/test-results/**',
      'dashboard/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // One concern per file: no source file over 500 lines (split it along its concerns instead).
  { files: ['*/src/**/*.ts'], rules: { 'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }] } },
  // Tests read JSON bodies of many shapes; `any` keeps their assertions readable.
  { files: ['**/test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
);
