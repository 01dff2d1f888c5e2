// Shared Jest settings for the Node workspaces: TypeScript through @swc/jest, native ESM
// (run with NODE_OPTIONS=--experimental-vm-modules), NodeNext-style ".js" specifiers mapped back to sources.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
