// Module resolution hook (see typescript-api.mjs): 'typescript' imported by a Stryker package
// resolves to the "typescript6" package.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'typescript' && context.parentURL?.includes('/node_modules/@stryker-mutator/')) {
    return nextResolve('typescript6', context);
  }
  return nextResolve(specifier, context);
}
