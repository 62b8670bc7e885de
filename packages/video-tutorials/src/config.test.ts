import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describePostgresUrl, readConfig, repositoryRoot } from './config.js';

describe('readConfig', () => {
  it('defaults to port 3000 and embedded storage under the repository data directory', () => {
    expect(readConfig({})).toEqual({
      port: 3000,
      databaseUrl: undefined,
      messageStoreConnectionString: undefined,
      dataDirectory: path.join(repositoryRoot, 'data'),
      environment: 'development',
      cookieSecret: undefined,
      emailDirectory: path.join(repositoryRoot, 'data', 'emails'),
      smtpUrl: undefined,
      systemSenderEmailAddress: 'Video Tutorials <no-reply@video-tutorials.localhost>',
      appName: 'Video Tutorials',
      appUrl: 'http://localhost:3000',
      sessionIdleMs: 120 * 60_000,
      sessionAbsoluteMs: 168 * 3_600_000,
      storageDirectory: path.join(repositoryRoot, 'data', 'storage'),
      maxUploadBytes: 200 * 1024 * 1024,
      uploadQuotaBytes: 2000 * 1024 * 1024,
      uploadsInFlight: 3,
      keepUploadedSources: false,
      trustProxy: false,
      adminEmails: [],
      consumerGroupSize: undefined,
      logLevel: 'info',
      metricsToken: undefined,
      passwordHashAlgorithm: 'argon2id',
    });
  });

  it('reads PASSWORD_HASH_ALGORITHM: argon2id by default, bcrypt for running beside the book’s pages', () => {
    expect(readConfig({ PASSWORD_HASH_ALGORITHM: 'bcrypt' }).passwordHashAlgorithm).toBe('bcrypt');
    expect(readConfig({ PASSWORD_HASH_ALGORITHM: 'Argon2id' }).passwordHashAlgorithm).toBe('argon2id');
    expect(() => readConfig({ PASSWORD_HASH_ALGORITHM: 'md5' })).toThrow(
      /^PASSWORD_HASH_ALGORITHM must be argon2id or bcrypt, but is "md5"$/,
    );
  });

  it('trusts no proxy unless TRUST_PROXY says which: a hop count or addresses', () => {
    expect(readConfig({}).trustProxy).toBe(false);
    expect(readConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(readConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(readConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16, ::1, loopback' }).trustProxy).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      '::1',
      'loopback',
    ]);
    for (const value of ['true', 'yes-please', '10.0.0.1/33', '300.1.1.1', '11', '10.0.0.1,,10.0.0.2'])
      expect(() => readConfig({ TRUST_PROXY: value }), value).toThrow(/^TRUST_PROXY must be|^TRUST_PROXY as a hop/);
    expect(() => readConfig({ TRUST_PROXY: 'true' })).toThrow(/^[^\n]+$/);
  });

  it('reads the upload quota, the uploads in flight and whether sources are kept', () => {
    const config = readConfig({ UPLOAD_QUOTA_MEGABYTES: '50', UPLOADS_IN_FLIGHT: '1', KEEP_UPLOADED_SOURCES: 'true' });
    expect(config).toMatchObject({ uploadQuotaBytes: 50 * 1024 * 1024, uploadsInFlight: 1, keepUploadedSources: true });
    expect(readConfig({ KEEP_UPLOADED_SOURCES: 'no' }).keepUploadedSources).toBe(false);
    expect(() => readConfig({ UPLOAD_QUOTA_MEGABYTES: '0' })).toThrow(/^UPLOAD_QUOTA_MEGABYTES must be/);
    expect(() => readConfig({ UPLOADS_IN_FLIGHT: 'many' })).toThrow(/^UPLOADS_IN_FLIGHT must be a whole number/);
    expect(() => readConfig({ KEEP_UPLOADED_SOURCES: 'maybe' })).toThrow(
      /^KEEP_UPLOADED_SOURCES must be true or false/,
    );
  });

  it('reads APP_URL, SESSION_IDLE_MINUTES and SESSION_MAX_HOURS, refusing nonsense', () => {
    expect(readConfig({ APP_URL: 'https://videos.example.com/' }).appUrl).toBe('https://videos.example.com');
    expect(readConfig({ PORT: '8080' }).appUrl).toBe('http://localhost:8080');
    expect(() => readConfig({ APP_URL: 'javascript:alert(1)' })).toThrow(/^APP_URL must be an http/);
    expect(readConfig({ SESSION_IDLE_MINUTES: '15', SESSION_MAX_HOURS: '8' })).toMatchObject({
      sessionIdleMs: 15 * 60_000,
      sessionAbsoluteMs: 8 * 3_600_000,
    });
    expect(() => readConfig({ SESSION_IDLE_MINUTES: '0' })).toThrow(/^SESSION_IDLE_MINUTES must be a whole number/);
  });

  it('reads LOG_LEVEL (warn by default under test) and METRICS_TOKEN without printing it', () => {
    expect(readConfig({ NODE_ENV: 'test' }).logLevel).toBe('warn');
    expect(readConfig({ LOG_LEVEL: 'Debug' }).logLevel).toBe('debug');
    expect(readConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }).logLevel).toBe('silent');
    expect(() => readConfig({ LOG_LEVEL: 'verbose' })).toThrow(/^LOG_LEVEL must be one of fatal, error, warn, info/);
    const token = 'scrape-me-7f3a9c2e41';
    expect(readConfig({ METRICS_TOKEN: token }).metricsToken).toBe(token);
    const attempt = () => readConfig({ METRICS_TOKEN: 'hunter2' });
    expect(attempt).toThrow(/^METRICS_TOKEN must be at least 16 characters/);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('demands a cookie secret in production and checks the other settings', () => {
    expect(() => readConfig({ NODE_ENV: 'production' })).toThrow(
      /^COOKIE_SECRET is required when NODE_ENV=production$/,
    );
    expect(() => readConfig({ COOKIE_SECRET: 'short' })).toThrow(/^COOKIE_SECRET must be at least 32 characters/);
    expect(() => readConfig({ NODE_ENV: 'staging' })).toThrow(/^NODE_ENV must be/);
    expect(() => readConfig({ SMTP_URL: 'http://x' })).toThrow(/^SMTP_URL must start with smtp/);
    expect(() => readConfig({ SYSTEM_SENDER_EMAIL_ADDRESS: 'nobody' })).toThrow(/^SYSTEM_SENDER_EMAIL_ADDRESS/);
    expect(() => readConfig({ UPLOAD_MAX_MEGABYTES: '0' })).toThrow(/^UPLOAD_MAX_MEGABYTES must be/);
    expect(readConfig({ UPLOAD_MAX_MEGABYTES: '5' }).maxUploadBytes).toBe(5 * 1024 * 1024);
    expect(readConfig({ ADMIN_EMAILS: ' Ada@Example.com, bob@example.com ' }).adminEmails).toEqual([
      'ada@example.com',
      'bob@example.com',
    ]);
    expect(() => readConfig({ ADMIN_EMAILS: 'ada@example.com, nope' })).toThrow(/^ADMIN_EMAILS must be/);
    expect(readConfig({ CONSUMER_GROUP_SIZE: '3' }).consumerGroupSize).toBe(3);
    expect(() => readConfig({ CONSUMER_GROUP_SIZE: '0' })).toThrow(/^CONSUMER_GROUP_SIZE must be/);
    const secret = 'x'.repeat(40);
    expect(readConfig({ NODE_ENV: 'production', COOKIE_SECRET: secret }).cookieSecret).toBe(secret);
    expect(readConfig({ SYSTEM_SENDER_EMAIL_ADDRESS: 'Team <team@example.com>' }).systemSenderEmailAddress).toBe(
      'Team <team@example.com>',
    );
  });

  it('reads the PostgreSQL connection strings and a port', () => {
    const config = readConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/views',
      MESSAGE_STORE_CONNECTION_STRING: 'postgresql://app:pw@db.internal/message_store',
    });
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBe('postgres://app:pw@db.internal:5432/views');
    expect(config.messageStoreConnectionString).toBe('postgresql://app:pw@db.internal/message_store');
  });

  it.each(['abc', '-1', '3000.5', '65536', '30 00'])('rejects PORT=%j with one clear line naming PORT', (port) => {
    expect(() => readConfig({ PORT: port })).toThrow(ConfigError);
    expect(() => readConfig({ PORT: port })).toThrow(/^PORT must be a whole number from 0 to 65535, but is "/);
  });

  it('rejects a malformed connection string without printing it', () => {
    const attempt = () => readConfig({ MESSAGE_STORE_CONNECTION_STRING: 'mysql://admin:hunter2@db/store' });
    expect(attempt).toThrow(/^MESSAGE_STORE_CONNECTION_STRING must start with postgres:\/\//);
    expect(attempt).not.toThrow(/hunter2/);
    expect(() => readConfig({ DATABASE_URL: 'user=admin password=hunter2' })).toThrow(/^DATABASE_URL must be a URL/);
  });

  it('resolves a relative DATA_DIRECTORY against the repository root', () => {
    expect(readConfig({ DATA_DIRECTORY: 'var/vt' }).dataDirectory).toBe(path.join(repositoryRoot, 'var/vt'));
    expect(readConfig({ DATA_DIRECTORY: '/srv/vt' }).dataDirectory).toBe('/srv/vt');
  });
});

describe('describePostgresUrl', () => {
  it('shows where, never who or the password', () => {
    expect(describePostgresUrl('postgres://app:secret@db.internal:6543/store?sslmode=require')).toBe(
      'db.internal:6543/store',
    );
  });
});
