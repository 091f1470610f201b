// ESLint (flat config): the recommended JavaScript and typescript-eslint rules, without type
// information (fast: about 10 s of CPU for the whole tree). Formatting is Prettier's business, not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/', 'node_modules/', 'fixtures/', 'coverage/', 'src/runtime/dns/native/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  // Node's globals (the .ts files get theirs from @types/node through tsc; plain .mjs helpers need them named).
  languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { process: 'readonly', URL: 'readonly', Buffer: 'readonly', console: 'readonly' } },
  rules: {
    // `_`-prefixed names are deliberately unused (callback signatures, destructuring).
    // Validators and quoting functions match control characters on purpose.
    'no-control-regex': 'off',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
  },
});
