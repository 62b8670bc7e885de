import { describe, expect, it } from 'vitest';
import { PIECE_NAMES } from '../system.js';
import { COMMAND_NAMES, parseCommandLine, PROGRAM_HELP, UsageError } from './commands.js';
import { REBUILDABLE_AGGREGATORS } from './rebuildable-aggregators.js';
import { runCli } from '../test-support/cli.js';

describe('the command line', () => {
  it('runs start by default, with its flags as before', () => {
    expect(parseCommandLine([])).toEqual({ command: 'start', selection: { web: true, workers: true } });
    expect(parseCommandLine(['--web'])).toEqual({ command: 'start', selection: { web: true, workers: false } });
    expect(parseCommandLine(['start', '--workers'])).toEqual({
      command: 'start',
      selection: { web: false, workers: true },
    });
    expect(parseCommandLine(['--only', 'identity, send-email'])).toEqual({
      command: 'start',
      selection: { web: false, workers: ['identity', 'send-email'] },
    });
    expect(() => parseCommandLine(['--only', 'identity,nobody'])).toThrow(
      `Unknown component or aggregator "nobody": choose from ${PIECE_NAMES.join(', ')}`,
    );
    expect(() => parseCommandLine(['start', '--frobnicate'])).toThrow(UsageError);
  });

  it('parses populate, with the defaults and checks of its help', () => {
    expect(parseCommandLine(['populate'])).toEqual({
      command: 'populate',
      users: 10,
      viewings: 100,
      videos: 5,
      password: 'password123',
    });
    expect(parseCommandLine(['populate', '--users', '0', '--viewings', '100_000', '--videos', '2'])).toMatchObject({
      users: 0,
      viewings: 100_000,
      videos: 2,
    });
    expect(() => parseCommandLine(['populate', '--users', '-1'])).toThrow(UsageError);
    expect(() => parseCommandLine(['populate', '--users', 'ten'])).toThrow(
      '--users must be a whole number from 0 to 1,000,000, not "ten"',
    );
    expect(() => parseCommandLine(['populate', '--videos', '0'])).toThrow(UsageError);
    expect(() => parseCommandLine(['populate', '--password', 'short'])).toThrow(/8 to 128 characters/);
    expect(() => parseCommandLine(['populate', 'extra'])).toThrow(UsageError);
  });

  it('parses rebuild of one aggregator, by name or piece name', () => {
    expect(parseCommandLine(['rebuild', 'home-page'])).toMatchObject({
      command: 'rebuild',
      aggregator: { name: 'home-page', tables: [{ name: 'pages' }] },
      keepOld: false,
    });
    expect(parseCommandLine(['rebuild', 'video-views-aggregator', '--keep-old'])).toMatchObject({
      aggregator: { name: 'video-views' },
      keepOld: true,
    });
    expect(() => parseCommandLine(['rebuild'])).toThrow(/rebuild needs the name of an aggregator: home-page, /);
    expect(() => parseCommandLine(['rebuild', 'home-page', 'catalogue'])).toThrow(/one aggregator at a time/);
    expect(() => parseCommandLine(['frobnicate'])).toThrow(
      'Unknown command "frobnicate": the commands are start, populate, rebuild',
    );
  });

  it('has help for the program and every command', () => {
    for (const args of [['--help'], ['-h'], ['help']])
      expect(parseCommandLine(args)).toEqual({ command: 'help', text: PROGRAM_HELP });
    for (const command of COMMAND_NAMES) {
      const help = parseCommandLine([command, '--help']);
      expect(help).toEqual(parseCommandLine(['help', command]));
      expect(help.command).toBe('help');
      expect((help as { text: string }).text).toContain(`Usage: npm start -- `);
      expect(PROGRAM_HELP).toContain(`  ${command} `);
    }
    const text = (args: string[]) => (parseCommandLine(args) as { text: string }).text;
    expect(text(['start', '-h'])).toContain('--only a,b');
    expect(text(['populate', '-h'])).toMatch(/password is "password123"/);
    expect(text(['populate', '-h'])).toContain('It writes messages only.');
    for (const aggregator of REBUILDABLE_AGGREGATORS) {
      expect(text(['rebuild', '-h'])).toContain(aggregator.name);
      for (const table of aggregator.tables) expect(text(['rebuild', '-h'])).toContain(table.name);
    }
  });

  it('prints each help from the real program, and exits 2 on wrong arguments', { timeout: 120_000 }, async () => {
    const [program, start, populate, rebuild, wrong] = await Promise.all([
      runCli(['--help']),
      runCli(['start', '--help']),
      runCli(['populate', '--help']),
      runCli(['rebuild', '--help']),
      runCli(['rebuild', 'nobody']),
    ]);
    expect(program).toEqual({ code: 0, stdout: PROGRAM_HELP, stderr: '' });
    expect([start.code, populate.code, rebuild.code]).toEqual([0, 0, 0]);
    expect(start.stdout).toMatch(/^Usage: npm start -- \[start\] \[options\]/);
    expect(populate.stdout).toMatch(/^Usage: npm start -- populate /);
    expect(rebuild.stdout).toMatch(/^Usage: npm start -- rebuild <aggregator>/);
    expect({ code: wrong.code, stdout: wrong.stdout }).toEqual({ code: 2, stdout: '' });
    expect(wrong.stderr).toMatch(/^Unknown aggregator "nobody": choose one of home-page, .*\nSee --help\.\n$/);
  });
});
