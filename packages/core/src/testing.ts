/** Entry point of `@tubelet/core/testing` (see src/testing/index.ts). */
export * from './testing/index';
