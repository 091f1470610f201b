// Run warpc's TypeScript sources directly in a child process (node --import this-file src/cli/main.ts):
// `.js` specifiers that name a `.ts` sibling resolve to it, and `.ts` files are transpiled
// with the project's own TypeScript (type-stripping only; tsc checks types separately).
import { register } from 'node:module';

register(new URL('./ts-hooks.mjs', import.meta.url));
