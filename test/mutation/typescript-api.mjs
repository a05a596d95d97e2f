// Loaded into Stryker's processes (test/mutation/stryker.mjs, and checkerNodeArgs for the type
// checker's). The project type-checks with TypeScript 7, whose package has no JavaScript compiler
// API any more (import 'typescript' gives only its version); Stryker reads and rewrites tsconfig
// files through that API (the type check itself runs on TypeScript 7's native API). So, for Stryker's own imports and nothing else, 'typescript'
// means TypeScript 6 (the devDependency "typescript6", an npm alias of typescript@6): the last
// release with the API, with the type system TypeScript 7 ports.
import { register } from 'node:module';

register('./typescript-api-resolve.mjs', import.meta.url);
