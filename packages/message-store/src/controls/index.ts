export * from './database.js';
export * from './messages.js';
export * from './descheduled-writer.js';
export * from './eventually.js';
export * from './specs.js';
export * from './test-store.js';
