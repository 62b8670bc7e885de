export * from './database.js';
export * from './messages.js';
